package io.kvasir.engine.grammar;

/**
 * Inside a number: JSON's grammar {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?}, the
 * fraction and exponent only for {@code number}. Digit runs are bounded so a model cannot spend
 * max_tokens on one number: 15 integer digits stay below 2^53, so every integer it writes is exact
 * in a double (JavaScript, most JSON parsers) and fits a 64-bit integer. A number ends at
 * the first byte that cannot continue it, and passes that byte down to the frame below.
 */
record NumFrame(boolean integer, int phase, int digits) implements Frame {

    static final int START = 0;
    static final int MINUS = 1;
    static final int ZERO = 2;
    static final int INT = 3;
    static final int DOT = 4;
    static final int FRAC = 5;
    static final int EXP = 6;
    static final int EXP_SIGN = 7;
    static final int EXP_DIGITS = 8;

    static final int MAX_DIGITS = 15;
    static final int MAX_EXP_DIGITS = 3;

    @Override
    public void step(Stack self, int b, Out out) {
        boolean digit = b >= '0' && b <= '9';
        switch (phase) {
            case START, MINUS -> {
                if (phase == START && b == '-') {
                    push(self, MINUS, 0, out);
                } else if (b == '0') {
                    push(self, ZERO, 0, out);
                } else if (digit) {
                    push(self, INT, 1, out);
                }
            }
            case ZERO -> fractionOrEnd(self, b, out);
            case INT -> {
                if (digit && digits < MAX_DIGITS) {
                    push(self, INT, digits + 1, out);
                } else {
                    fractionOrEnd(self, b, out);
                }
            }
            case DOT -> {
                if (digit) {
                    push(self, FRAC, 1, out);
                }
            }
            case FRAC -> {
                if (digit && digits < MAX_DIGITS) {
                    push(self, FRAC, digits + 1, out);
                } else if (b == 'e' || b == 'E') {
                    push(self, EXP, 0, out);
                } else {
                    self.rest.step(b, out);
                }
            }
            case EXP -> {
                if (b == '+' || b == '-') {
                    push(self, EXP_SIGN, 0, out);
                } else if (digit) {
                    push(self, EXP_DIGITS, 1, out);
                }
            }
            case EXP_SIGN -> {
                if (digit) {
                    push(self, EXP_DIGITS, 1, out);
                }
            }
            case EXP_DIGITS -> {
                if (digit && digits < MAX_EXP_DIGITS) {
                    push(self, EXP_DIGITS, digits + 1, out);
                } else {
                    self.rest.step(b, out);
                }
            }
            default -> throw new IllegalStateException("number phase " + phase);
        }
    }

    private void fractionOrEnd(Stack self, int b, Out out) {
        if (!integer && b == '.') {
            push(self, DOT, 0, out);
        } else if (!integer && (b == 'e' || b == 'E')) {
            push(self, EXP, 0, out);
        } else {
            self.rest.step(b, out);
        }
    }

    private void push(Stack self, int newPhase, int newDigits, Out out) {
        out.add(new Stack(new NumFrame(integer, newPhase, newDigits), self.rest));
    }

    @Override
    public boolean endsWithoutByte() {
        return phase == ZERO || phase == INT || phase == FRAC || phase == EXP_DIGITS;
    }
}
