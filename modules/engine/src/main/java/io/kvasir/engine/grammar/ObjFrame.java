package io.kvasir.engine.grammar;

/**
 * Inside an object. Declared properties are matched against a trie of the names that may come next
 * ({@link Shape.Obj#keysFrom}), so a key can only be one the schema allows at this point, and the
 * object can only close once its required properties are all there. Free-form keys (an object
 * with {@code extra}) are plain strings.
 *
 * @param next the index of the first declared property not yet decided (taken or skipped)
 * @param key  while reading a declared key: the trie node reached
 * @param prop after a key: the declared property it named, or -1 for a free-form key
 */
record ObjFrame(Shape.Obj shape, int phase, int next, int ws, ByteTrie key, int prop) implements Frame {

    static final int OPEN = 0; // after {
    static final int KEY = 1; // inside a declared key
    static final int COLON = 2; // after a key
    static final int AFTER_VALUE = 3;
    static final int COMMA = 4; // after a comma

    @Override
    public void step(Stack self, int b, Out out) {
        if (phase == KEY) {
            ByteTrie child = key.child(b);
            if (child != null) {
                out.add(new Stack(
                        child.terminal()
                                ? new ObjFrame(shape, COLON, child.value() + 1, 0, null, child.value())
                                : new ObjFrame(shape, KEY, next, 0, child, -1),
                        self.rest));
            }
            return;
        }
        if (Frame.isWhitespace(b)) {
            int w = Frame.whitespace(ws, b);
            if (w >= 0) {
                out.add(new Stack(new ObjFrame(shape, phase, next, w, null, prop), self.rest));
            }
            return;
        }
        switch (phase) {
            case OPEN, COMMA -> {
                if (b == '"') {
                    startKey(self, out);
                } else if (b == '}' && phase == OPEN && shape.mayClose(next)) {
                    out.add(self.rest);
                }
            }
            case COLON -> {
                if (b == ':') {
                    Shape value = prop >= 0 ? shape.values[prop] : shape.extra;
                    Stack after = new Stack(new ObjFrame(shape, AFTER_VALUE, next, 0, null, -1), self.rest);
                    out.add(new Stack(new Value(value, 0), after));
                }
            }
            case AFTER_VALUE -> {
                if (b == ',' && moreKeys()) {
                    out.add(new Stack(new ObjFrame(shape, COMMA, next, 0, null, -1), self.rest));
                } else if (b == '}' && shape.mayClose(next)) {
                    out.add(self.rest);
                }
            }
            default -> throw new IllegalStateException("object phase " + phase);
        }
    }

    private void startKey(Stack self, Out out) {
        if (shape.extra != null) {
            Stack colon = new Stack(new ObjFrame(shape, COLON, next, 0, null, -1), self.rest);
            out.add(new Stack(StrFrame.PLAIN, colon));
        } else if (!shape.keysFrom[next].leaf()) {
            out.add(new Stack(new ObjFrame(shape, KEY, next, 0, shape.keysFrom[next], -1), self.rest));
        }
    }

    private boolean moreKeys() {
        return shape.extra != null || !shape.keysFrom[next].leaf();
    }
}
