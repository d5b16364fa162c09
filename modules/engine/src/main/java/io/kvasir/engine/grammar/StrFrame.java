package io.kvasir.engine.grammar;

/**
 * Inside a string, after its opening quote. The automaton reads bytes, not characters, so a token
 * holding half a UTF-8 character (byte-fallback and byte-level BPE vocabularies have them) is
 * judged like any other: the state says how many continuation bytes are owed and which range the
 * next one must fall in, so only well-formed UTF-8 (no overlongs, no surrogates) gets through.
 *
 * @param st {@link #NORMAL}, {@link #ESCAPE}, {@code HEX + n} with n hex digits of a {@code \\u}
 *           escape still to come, {@code UTF8 + n} with n continuation bytes to come, or one of
 *           the four lead bytes whose next byte has a narrower range
 */
record StrFrame(int st) implements Frame {

    static final int NORMAL = 0;
    static final int ESCAPE = 1;
    static final int HEX = 10;
    static final int UTF8 = 20;
    static final int AFTER_E0 = 30; // next A0..BF (no overlong 3-byte forms)
    static final int AFTER_ED = 31; // next 80..9F (no surrogates)
    static final int AFTER_F0 = 32; // next 90..BF (no overlong 4-byte forms)
    static final int AFTER_F4 = 33; // next 80..8F (nothing past U+10FFFF)

    static final StrFrame PLAIN = new StrFrame(NORMAL);

    @Override
    public void step(Stack self, int b, Out out) {
        int next = next(st, b);
        if (next == CLOSE) {
            out.add(self.rest);
        } else if (next >= 0) {
            out.add(next == st ? self : new Stack(next == NORMAL ? PLAIN : new StrFrame(next), self.rest));
        }
    }

    /** What {@link #next} returns for the closing quote. */
    static final int CLOSE = -2;

    /** The state after byte {@code b} in state {@code st}: {@link #CLOSE}, or -1 when b is not allowed. */
    static int next(int st, int b) {
        if (st == NORMAL) {
            if (b == '"') {
                return CLOSE;
            }
            if (b == '\\') {
                return ESCAPE;
            }
            if (b < 0x20) {
                return -1; // control characters must be escaped
            }
            if (b < 0x80) {
                return NORMAL;
            }
            if (b >= 0xC2 && b <= 0xDF) {
                return UTF8 + 1;
            }
            return switch (b) {
                case 0xE0 -> AFTER_E0;
                case 0xED -> AFTER_ED;
                case 0xF0 -> AFTER_F0;
                case 0xF4 -> AFTER_F4;
                default -> b >= 0xE1 && b <= 0xEF ? UTF8 + 2 : b >= 0xF1 && b <= 0xF3 ? UTF8 + 3 : -1;
            };
        }
        if (st == ESCAPE) {
            return switch (b) {
                case '"', '\\', '/', 'b', 'f', 'n', 'r', 't' -> NORMAL;
                case 'u' -> HEX + 4;
                default -> -1;
            };
        }
        if (st > HEX && st <= HEX + 4) {
            boolean hex = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
            return !hex ? -1 : st == HEX + 1 ? NORMAL : st - 1;
        }
        if (st > UTF8 && st <= UTF8 + 3) {
            return (b & 0xC0) != 0x80 ? -1 : st == UTF8 + 1 ? NORMAL : st - 1;
        }
        return switch (st) {
            case AFTER_E0 -> b >= 0xA0 && b <= 0xBF ? UTF8 + 1 : -1;
            case AFTER_ED -> b >= 0x80 && b <= 0x9F ? UTF8 + 1 : -1;
            case AFTER_F0 -> b >= 0x90 && b <= 0xBF ? UTF8 + 2 : -1;
            case AFTER_F4 -> b >= 0x80 && b <= 0x8F ? UTF8 + 2 : -1;
            default -> throw new IllegalStateException("string state " + st);
        };
    }
}
