package io.kvasir.engine.grammar;

/**
 * Inside an array, counting items against minItems and maxItems. The count saturates where it
 * stops mattering ({@link Shape.Arr#saturate}), so the states of a long array repeat.
 */
record ArrFrame(Shape.Arr shape, int phase, int count, int ws) implements Frame {

    static final int OPEN = 0; // after [
    static final int AFTER_VALUE = 1;
    static final int COMMA = 2; // after a comma

    @Override
    public void step(Stack self, int b, Out out) {
        if (Frame.isWhitespace(b)) {
            int w = Frame.whitespace(ws, b);
            if (w >= 0) {
                out.add(new Stack(new ArrFrame(shape, phase, count, w), self.rest));
            }
            return;
        }
        if (phase == AFTER_VALUE) {
            if (b == ',' && (shape.max < 0 || count < shape.max)) {
                out.add(new Stack(new ArrFrame(shape, COMMA, count, 0), self.rest));
            } else if (b == ']' && count >= shape.min) {
                out.add(self.rest);
            }
            return;
        }
        if (b == ']' && phase == OPEN && shape.min == 0) {
            out.add(self.rest);
        } else if (b != ']' && shape.max != 0) {
            Stack after = new Stack(new ArrFrame(shape, AFTER_VALUE, shape.saturate(count + 1), 0), self.rest);
            Frame.start(shape.items, after, b, out);
        }
    }
}
