package io.kvasir.engine.grammar;

import static io.kvasir.engine.grammar.NumFrame.DOT;
import static io.kvasir.engine.grammar.NumFrame.FRAC;
import static io.kvasir.engine.grammar.NumFrame.INT;
import static io.kvasir.engine.grammar.NumFrame.MINUS;
import static io.kvasir.engine.grammar.NumFrame.START;
import static io.kvasir.engine.grammar.NumFrame.ZERO;

import java.math.BigInteger;

/**
 * Inside a number held to bounds (minimum, maximum, exclusive or not). The syntax is JSON's without
 * the exponent, {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?}, the fraction only for {@code number}: plain
 * decimals write every value, and without an exponent the values a prefix can still become form a
 * few intervals that are cheap to check. A byte is taken only when some completion of the new
 * prefix lies in the bounds, and the number ends only on a value in them, so the mask never leads
 * into a number that cannot be finished.
 *
 * <p>The prefix {@code 12} can become 12 itself or, with j more integer digits, anything in
 * {@code [12 * 10^j, 13 * 10^j)}; the prefix {@code 12.3} anything in {@code [12.3, 12.4)}. These
 * are magnitudes in steps of {@link NumberBounds}; a minus mirrors them. Once every completion of a
 * prefix lies in the bounds, the digits stop mattering: the frame forgets them ({@code value} null)
 * so that such states repeat and share cached masks, as an unbounded number's do. A negative number
 * is never zero ({@link NumberBounds}): {@code -0} and {@code -0.00} do not end.
 *
 * @param negative whether a minus was read
 * @param value    the digits so far (integer part, then fraction) as one integer; null once free
 * @param phase    where in the syntax, as {@link NumFrame}'s phases name it (no exponent here)
 * @param count    integer digits in {@link NumFrame#INT}, fraction digits in {@link NumFrame#DOT} and
 *                 {@link NumFrame#FRAC}
 */
record BoundedNumFrame(NumberBounds bounds, int phase, boolean negative, BigInteger value, int count) implements Frame {

    static BoundedNumFrame start(NumberBounds bounds) {
        return new BoundedNumFrame(bounds, START, false, BigInteger.ZERO, 0);
    }

    @Override
    public void step(Stack self, int b, Out out) {
        int d = b >= '0' && b <= '9' ? b - '0' : -1;
        switch (phase) {
            case START, MINUS -> {
                if (phase == START && b == '-') {
                    push(self, MINUS, true, BigInteger.ZERO, 0, out);
                } else if (d >= 0) {
                    BigInteger first = value == null ? null : BigInteger.valueOf(d);
                    push(self, d == 0 ? ZERO : INT, negative, first, 1, out);
                }
            }
            case ZERO, INT -> {
                if (phase == INT && d >= 0 && count < bounds.intDigits) {
                    push(self, INT, negative, append(d), count + 1, out);
                } else if (b == '.' && !bounds.integer) {
                    push(self, DOT, negative, value, 0, out);
                } else if (endsWithoutByte()) {
                    self.rest.step(b, out);
                }
            }
            case DOT -> {
                if (d >= 0) {
                    push(self, FRAC, negative, append(d), 1, out);
                }
            }
            case FRAC -> {
                if (d >= 0 && count < bounds.fracDigits) {
                    push(self, FRAC, negative, append(d), count + 1, out);
                } else if (endsWithoutByte()) {
                    self.rest.step(b, out);
                }
            }
            default -> throw new IllegalStateException("number phase " + phase);
        }
    }

    private BigInteger append(int digit) {
        return value == null ? null : value.multiply(BigInteger.TEN).add(BigInteger.valueOf(digit));
    }

    private void push(Stack self, int newPhase, boolean minus, BigInteger digits, int newCount, Out out) {
        BoundedNumFrame next = new BoundedNumFrame(bounds, newPhase, minus, digits, newCount);
        if (digits != null) {
            if (!next.feasible()) {
                return;
            }
            // a minus and zeros so far (-0.0) must still get a non-zero digit: keep tracking them
            if (!(minus && digits.signum() == 0) && next.free()) {
                next = new BoundedNumFrame(bounds, newPhase, false, null, newCount);
            }
        }
        out.add(new Stack(next, self.rest));
    }

    /** Whether some completion of this prefix is in bounds. */
    private boolean feasible() {
        int f = bounds.fracDigits;
        return switch (phase) {
            case MINUS -> bounds.meets(true, BigInteger.ZERO, bounds.largest());
            case ZERO, INT -> {
                int more = phase == ZERO ? 0 : bounds.intDigits - count;
                for (int j = 0; j <= more; j++) {
                    if (bounds.meets(negative, low(j + f), high(j + f))) {
                        yield true;
                    }
                }
                yield false;
            }
            default -> bounds.meets(negative, low(f - count), high(f - count));
        };
    }

    /** Whether every completion of this prefix is in bounds. */
    private boolean free() {
        int f = bounds.fracDigits;
        return switch (phase) {
            case MINUS -> bounds.covers(true, BigInteger.ZERO, bounds.largest());
            case ZERO, INT -> {
                int more = phase == ZERO ? 0 : bounds.intDigits - count;
                yield bounds.covers(negative, low(f), high(more + f));
            }
            default -> bounds.covers(negative, low(f - count), high(f - count));
        };
    }

    /** The smallest magnitude (in steps) once the digits are followed by e more: value * 10^e. */
    private BigInteger low(int e) {
        return value.multiply(bounds.pow10(e));
    }

    /** The largest magnitude (in steps) once the digits are followed by e more, all nines. */
    private BigInteger high(int e) {
        return value.add(BigInteger.ONE).multiply(bounds.pow10(e)).subtract(BigInteger.ONE);
    }

    @Override
    public boolean endsWithoutByte() {
        if (phase != ZERO && phase != INT && phase != FRAC) {
            return false;
        }
        return value == null
                || bounds.contains(negative, low(phase == FRAC ? bounds.fracDigits - count : bounds.fracDigits));
    }
}
