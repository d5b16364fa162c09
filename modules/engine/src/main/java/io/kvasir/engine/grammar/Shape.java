package io.kvasir.engine.grammar;

import java.nio.charset.StandardCharsets;

/**
 * A compiled schema node: what one JSON value may look like. Shapes are immutable once compiled
 * (a {@link Ref} is tied to its target during compilation) and compare by identity, which keeps
 * the automaton's frames cheap to hash even for recursive schemas.
 */
abstract sealed class Shape {

    /**
     * Any JSON value: what {@code json_object} allows inside its top-level object. A schema without
     * a type may still bound numbers and strings: those values then take these shapes.
     */
    static final class Any extends Shape {
        static final Any INSTANCE = new Any(Num.NUMBER, Str.INSTANCE);

        final Num number;
        final Str string;

        Any(Num number, Str string) {
            this.number = number;
            this.string = string;
        }
    }

    /**
     * A string of minLength to maxLength characters (maxLength -1: unbounded), or, when {@code format}
     * is set, a string of that format, whose automaton holds the lengths too.
     */
    static final class Str extends Shape {
        static final Str INSTANCE = new Str(0, -1);

        final int minLength;
        final int maxLength;
        /** The format's automaton, or null for a free string. */
        final ByteDfa format;

        Str(int minLength, int maxLength) {
            this(minLength, maxLength, null);
        }

        Str(int minLength, int maxLength, ByteDfa format) {
            this.minLength = minLength;
            this.maxLength = maxLength;
            this.format = format;
        }

        boolean limited() {
            return minLength > 0 || maxLength >= 0;
        }
    }

    /** An integer or a number, within {@code bounds} (null: unbounded). */
    static final class Num extends Shape {
        static final Num NUMBER = new Num(false, null);
        static final Num INTEGER = new Num(true, null);

        final boolean integer;
        final NumberBounds bounds;

        Num(boolean integer, NumberBounds bounds) {
            this.integer = integer;
            this.bounds = bounds;
        }
    }

    /** A fixed set of JSON texts (enum, const, true/false, null), matched byte by byte. */
    static final class Literal extends Shape {
        static final Literal BOOLEAN = of("true", "false");
        static final Literal NULL = of("null");

        final ByteTrie trie;

        Literal(ByteTrie trie) {
            this.trie = trie;
        }

        static Literal of(String... texts) {
            ByteTrie t = new ByteTrie();
            for (String s : texts) {
                t.add(s.getBytes(StandardCharsets.UTF_8), 0);
            }
            return new Literal(t);
        }
    }

    /**
     * An object. Declared properties come in their declared order, each optional one may be left
     * out; fixing the order keeps the automaton's state to one index instead of a set of seen keys.
     * {@code extra}, when not null, is the value shape of free-form keys (an object without declared
     * properties: the {@code json_object} kind, or {@code additionalProperties} with a schema).
     */
    static final class Obj extends Shape {
        static final Obj ANY = new Obj(new String[0], new Shape[0], new boolean[0], Any.INSTANCE);

        final String[] names;
        final Shape[] values;
        final boolean[] required;
        final Shape extra;
        /** keysFrom[i]: the quoted-name tails ({@code name"}) that may come once properties before i are decided. */
        final ByteTrie[] keysFrom;

        Obj(String[] names, Shape[] values, boolean[] required, Shape extra) {
            this.names = names;
            this.values = values;
            this.required = required;
            this.extra = extra;
            this.keysFrom = new ByteTrie[names.length + 1];
            for (int from = 0; from <= names.length; from++) {
                ByteTrie t = new ByteTrie();
                for (int i = from; i < names.length; i++) {
                    t.add(Json.quotedTail(names[i]), i);
                    if (required[i]) {
                        break; // a required property cannot be skipped
                    }
                }
                keysFrom[from] = t;
            }
        }

        /** Whether the object may close once the properties before {@code next} are decided. */
        boolean mayClose(int next) {
            for (int i = next; i < names.length; i++) {
                if (required[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    /** An array of {@code items}, between min and max long (max -1: unbounded). */
    static final class Arr extends Shape {
        static final Arr ANY = new Arr(Any.INSTANCE, 0, -1);

        final Shape items;
        final int min;
        final int max;

        Arr(Shape items, int min, int max) {
            this.items = items;
            this.min = min;
            this.max = max;
        }

        /**
         * Counts past this are all alike to the automaton, so the count saturates there and states
         * deep into a long array repeat (and share cached masks).
         */
        int saturate(int count) {
            return Math.min(count, Math.max(min, max < 0 ? min : max));
        }
    }

    static final class AnyOf extends Shape {
        final Shape[] alternatives;

        AnyOf(Shape[] alternatives) {
            this.alternatives = alternatives;
        }
    }

    /** A {@code $ref}, tied to its target once every definition is compiled (schemas may recurse). */
    static final class Ref extends Shape {
        final String ref;
        Shape target;

        Ref(String ref) {
            this.ref = ref;
        }
    }
}
