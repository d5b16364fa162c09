package io.kvasir.engine.grammar;

import java.util.BitSet;
import java.util.List;

/**
 * A small regular language over bytes, written as a tree: what a string {@code format} allows.
 * Only what the formats need: byte sets, sequences, alternations, bounded repetition and a length
 * bound. {@link ByteDfa#of} turns one into a deterministic automaton. There is no parser on purpose:
 * patterns are built in code ({@link Formats}), so there is no syntax to get wrong or to escape.
 */
sealed interface BytePattern {

    /** One byte out of a set. */
    record Bytes(BitSet set) implements BytePattern {}

    /** The parts one after the other (none: the empty string). */
    record Seq(List<BytePattern> parts) implements BytePattern {}

    /** Any one of the alternatives. */
    record Alt(List<BytePattern> alternatives) implements BytePattern {}

    /** {@code part} from min to max times (max -1: no upper bound). */
    record Repeat(BytePattern part, int min, int max) implements BytePattern {}

    /**
     * The strings of {@code part} that are min to max bytes long (max -1: no upper bound). Regular
     * expressions cannot say this without spelling out every split; the automaton counts instead.
     */
    record Length(BytePattern part, int min, int max) implements BytePattern {}

    /**
     * The bytes of a class written as in a regular expression's brackets, without them: single
     * characters and ranges such as {@code a-z0-9_+-} (a '-' first or last is itself).
     */
    static BytePattern cls(String spec) {
        BitSet set = new BitSet(256);
        for (int i = 0; i < spec.length(); i++) {
            char c = spec.charAt(i);
            if (i + 2 < spec.length() && spec.charAt(i + 1) == '-') {
                set.set(c, spec.charAt(i + 2) + 1);
                i += 2;
            } else {
                set.set(c);
            }
        }
        return new Bytes(set);
    }

    /** The exact text (ASCII). */
    static BytePattern lit(String text) {
        BytePattern[] parts = new BytePattern[text.length()];
        for (int i = 0; i < parts.length; i++) {
            BitSet one = new BitSet(256);
            one.set(text.charAt(i));
            parts[i] = new Bytes(one);
        }
        return seq(parts);
    }

    static BytePattern seq(BytePattern... parts) {
        return parts.length == 1 ? parts[0] : new Seq(List.of(parts));
    }

    static BytePattern alt(BytePattern... alternatives) {
        return alternatives.length == 1 ? alternatives[0] : new Alt(List.of(alternatives));
    }

    static BytePattern opt(BytePattern part) {
        return new Repeat(part, 0, 1);
    }

    static BytePattern rep(BytePattern part, int min, int max) {
        return new Repeat(part, min, max);
    }

    /**
     * {@code part} held to min..max bytes; a length bound directly around another merges with it,
     * so a format's own bound and a schema's minLength and maxLength make one counter, not two.
     */
    static BytePattern length(BytePattern part, int min, int max) {
        if (part instanceof Length inner) {
            int lo = Math.max(min, inner.min);
            int hi = max < 0 ? inner.max : inner.max < 0 ? max : Math.min(max, inner.max);
            return new Length(inner.part, lo, hi);
        }
        return new Length(part, min, max);
    }
}
