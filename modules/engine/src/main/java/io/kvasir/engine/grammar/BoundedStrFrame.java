package io.kvasir.engine.grammar;

/**
 * Inside a string held to minLength and maxLength. Bytes are read as {@link StrFrame} reads them;
 * on top, the characters are counted as JSON Schema counts them: code points of the decoded string.
 * A UTF-8 character or an escape ({@code \n}, {@code \\u00e9}) is one, counted when its last byte is
 * read, and a character is not begun at all when it would not fit. The one character written in two
 * escapes, a surrogate pair ({@code \\ud83d\\ude00}), counts once: the high half is counted, and a
 * low half right after it is free, even at maxLength (a lone high half would be broken text).
 *
 * @param st         the {@link StrFrame} state
 * @param count      characters so far; past minLength without a maxLength it stops counting
 * @param surrogate  inside a {@code \\u} escape: what its hex digits so far say ({@link #NONE},
 *                   {@link #D} first digit d, {@link #HIGH} or {@link #LOW} half of a pair)
 * @param afterHigh  whether the last character was the high half of a pair
 */
record BoundedStrFrame(Shape.Str shape, int st, int count, int surrogate, boolean afterHigh) implements Frame {

    static final int NONE = 0;
    static final int D = 1;
    static final int HIGH = 2;
    static final int LOW = 3;

    static BoundedStrFrame start(Shape.Str shape) {
        return new BoundedStrFrame(shape, StrFrame.NORMAL, 0, NONE, false);
    }

    @Override
    public void step(Stack self, int b, Out out) {
        int next = StrFrame.next(st, b);
        if (next == StrFrame.CLOSE) {
            if (count >= shape.minLength) {
                out.add(self.rest);
            }
            return;
        }
        if (next < 0) {
            return;
        }
        int sur = surrogateAfter(b);
        if (next == StrFrame.NORMAL) {
            int total = afterHigh && sur == LOW ? count : count + 1;
            if (shape.maxLength < 0 || total <= shape.maxLength) {
                out.add(new Stack(new BoundedStrFrame(shape, next, saturate(total), NONE, sur == HIGH), self.rest));
            }
        } else if (!full() || (afterHigh && mayBeLowHalf(next, sur))) {
            out.add(new Stack(new BoundedStrFrame(shape, next, count, sur, afterHigh), self.rest));
        }
    }

    /** What the digits of a {@code \\u} escape say after byte {@code b}. */
    private int surrogateAfter(int b) {
        if (st == StrFrame.HEX + 4) { // b is the escape's first hex digit
            return b == 'd' || b == 'D' ? D : NONE;
        }
        if (st == StrFrame.HEX + 3) { // the second: D8..DB high half, DC..DF low
            int h = Character.digit(b, 16);
            return surrogate != D || h < 8 ? NONE : h < 0xC ? HIGH : LOW;
        }
        return st == StrFrame.HEX + 2 || st == StrFrame.HEX + 1 ? surrogate : NONE;
    }

    /** Whether the character begun so far may still turn out a low half (which costs nothing). */
    private static boolean mayBeLowHalf(int next, int sur) {
        return next == StrFrame.ESCAPE
                || next == StrFrame.HEX + 4
                || (next == StrFrame.HEX + 3 && sur == D)
                || ((next == StrFrame.HEX + 2 || next == StrFrame.HEX + 1) && sur == LOW);
    }

    /**
     * This frame with its count at minLength, when no run of {@code bytes} bytes can tell the two
     * apart: both may close, and neither can reach maxLength (a character takes at least a byte).
     */
    BoundedStrFrame awayFromLimits(int bytes) {
        boolean far = count > shape.minLength && (shape.maxLength < 0 || shape.maxLength - count > bytes);
        return far ? new BoundedStrFrame(shape, st, shape.minLength, surrogate, afterHigh) : this;
    }

    private boolean full() {
        return shape.maxLength >= 0 && count >= shape.maxLength;
    }

    /** Without a maxLength, counts past minLength are all alike: saturating them lets states repeat. */
    private int saturate(int total) {
        return shape.maxLength < 0 ? Math.min(total, shape.minLength) : total;
    }
}
