package io.kvasir.engine.grammar;

/**
 * One level of the JSON automaton's stack: what the bytes so far leave open at that level. Frames
 * are records: equal frames mean equal futures, which is what lets masks be cached per state.
 *
 * <p>Each frame reads one byte and hands {@link Out} every stack that can follow: none rejects the
 * byte, one is the usual case, more than one happens only where an {@code anyOf} has not yet been
 * decided. A frame whose value ends with the byte pops itself; a number, which only ends at the
 * byte after it, pops and passes the byte down.
 */
sealed interface Frame
        permits Frame.Value,
                Frame.End,
                Frame.Lit,
                StrFrame,
                BoundedStrFrame,
                FormatFrame,
                NumFrame,
                BoundedNumFrame,
                ObjFrame,
                ArrFrame {

    /** Where a frame puts the stacks that may follow a byte. */
    interface Out {
        void add(Stack s);
    }

    /** The longest whitespace runs: a few spaces, or one newline and indentation (pretty printing). */
    int MAX_SPACES = 2;

    int MAX_INDENT = 16;

    void step(Stack self, int b, Out out);

    /** Whether this frame's value is complete if no byte follows (a number, an enum like 1 of [1, 12]). */
    default boolean endsWithoutByte() {
        return false;
    }

    static boolean isWhitespace(int b) {
        return b == ' ' || b == '\n' || b == '\t' || b == '\r';
    }

    /**
     * The whitespace state after byte {@code b}, or -1 when the run may not grow by it. States: 0 no
     * whitespace yet, 1..MAX_SPACES that many spaces or tabs, then newline plus 0..MAX_INDENT
     * indentation. Bounding the run keeps a model from padding with whitespace until max_tokens.
     */
    static int whitespace(int ws, int b) {
        int newline = MAX_SPACES + 1;
        if (b == '\n') {
            return ws < newline ? newline : -1;
        }
        if (b != ' ' && b != '\t') {
            return -1;
        }
        if (ws < MAX_SPACES) {
            return ws + 1;
        }
        return ws >= newline && ws < newline + MAX_INDENT ? ws + 1 : -1;
    }

    /** Starts a value of {@code shape} with its first byte {@code b}, on top of {@code below}. */
    static void start(Shape shape, Stack below, int b, Out out) {
        switch (shape) {
            case Shape.Obj o -> {
                if (b == '{') {
                    out.add(new Stack(new ObjFrame(o, ObjFrame.OPEN, 0, 0, null, -1), below));
                }
            }
            case Shape.Arr a -> {
                if (b == '[') {
                    out.add(new Stack(new ArrFrame(a, ArrFrame.OPEN, 0, 0), below));
                }
            }
            case Shape.Str s -> {
                if (b == '"') {
                    Frame inside = s.format != null
                            ? FormatFrame.start(s.format)
                            : s.limited() ? BoundedStrFrame.start(s) : StrFrame.PLAIN;
                    out.add(new Stack(inside, below));
                }
            }
            case Shape.Num n -> {
                Frame first =
                        n.bounds == null ? new NumFrame(n.integer, NumFrame.START, 0) : BoundedNumFrame.start(n.bounds);
                new Stack(first, below).step(b, out);
            }
            case Shape.Literal l -> new Stack(new Lit(l.trie), below).step(b, out);
            case Shape.AnyOf any -> {
                for (Shape alt : any.alternatives) {
                    start(alt, below, b, out);
                }
            }
            case Shape.Ref r -> start(r.target, below, b, out);
            case Shape.Any any -> {
                Shape s = switch (b) {
                    case '{' -> Shape.Obj.ANY;
                    case '[' -> Shape.Arr.ANY;
                    case '"' -> any.string;
                    case 't', 'f' -> Shape.Literal.BOOLEAN;
                    case 'n' -> Shape.Literal.NULL;
                    default -> b == '-' || (b >= '0' && b <= '9') ? any.number : null;
                };
                if (s != null) {
                    start(s, below, b, out);
                }
            }
        }
    }

    /** A value of {@code shape} is next, after at most a bounded run of whitespace. */
    record Value(Shape shape, int ws) implements Frame {
        @Override
        public void step(Stack self, int b, Out out) {
            if (isWhitespace(b)) {
                int next = whitespace(ws, b);
                if (next >= 0) {
                    out.add(new Stack(new Value(shape, next), self.rest));
                }
            } else {
                start(shape, self.rest, b, out);
            }
        }
    }

    /** The bottom: the value is complete; only trailing whitespace may follow. */
    record End(int ws) implements Frame {
        @Override
        public void step(Stack self, int b, Out out) {
            int next = whitespace(ws, b);
            if (next >= 0) {
                out.add(new Stack(new End(next), self.rest));
            }
        }
    }

    /** Fixed texts (enum values, true, false, null), at a node of their trie. */
    record Lit(ByteTrie node) implements Frame {
        @Override
        public void step(Stack self, int b, Out out) {
            ByteTrie child = node.child(b);
            if (child != null) {
                out.add(child.terminal() && child.leaf() ? self.rest : new Stack(new Lit(child), self.rest));
            }
            if (node.terminal()) {
                self.rest.step(b, out); // the literal ended before b (1 of the enum [1, 12])
            }
        }

        @Override
        public boolean endsWithoutByte() {
            return node.terminal();
        }
    }
}
