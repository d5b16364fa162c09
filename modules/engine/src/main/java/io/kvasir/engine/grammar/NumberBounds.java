package io.kvasir.engine.grammar;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;

/**
 * The numbers a bounded {@code integer} or {@code number} may take, as whole multiples of one step
 * ({@code 10^-fracDigits}; 1 for integers): a value {@code x} is the integer {@code x * 10^fracDigits}
 * here, so every decision is exact integer arithmetic, never a double's approximation. A prefix of
 * a number is judged by the interval of magnitudes its completions can reach (see
 * {@link BoundedNumFrame}); this class answers whether such an interval meets the bounds at all,
 * lies inside them entirely, or whether one finished value does.
 *
 * <p>Negative numbers are taken to be non-zero: a {@code -} that could only become {@code -0}
 * would make the model write a sign for nothing, so that path is not offered.
 */
final class NumberBounds {

    /** Integer digits a bounded number may always have: the unbounded default of {@link NumFrame}. */
    private static final int DEFAULT_DIGITS = NumFrame.MAX_DIGITS;

    /**
     * How far a bound outside the default digits widens them: enough for any 64-bit integer, so
     * such a bound (unsigned 64-bit ranges, JavaScript's safe integers) is reachable, while a huge
     * bound (1e300) does not invite a model to write three hundred digits.
     */
    private static final int WIDEST_FOR_A_FAR_BOUND = 20;

    /** Inclusive ends in steps, null when open. */
    private final BigInteger low;

    private final BigInteger high;

    final boolean integer;
    /** Fraction digits a value may have (0 for an integer): the step is {@code 10^-fracDigits}. */
    final int fracDigits;
    /** Integer digits a value may have: wide enough to reach the bounds, bounded so a number ends. */
    final int intDigits;

    private final BigInteger[] pow10;

    private NumberBounds(boolean integer, BigInteger low, BigInteger high, int fracDigits, int intDigits) {
        this.integer = integer;
        this.low = low;
        this.high = high;
        this.fracDigits = fracDigits;
        this.intDigits = intDigits;
        this.pow10 = new BigInteger[intDigits + fracDigits + 1];
        for (int i = 0; i < pow10.length; i++) {
            pow10[i] = BigInteger.TEN.pow(i);
        }
    }

    /** Bounds read from a schema: each end a decimal, or null when absent. */
    record Range(BigDecimal min, boolean minExclusive, BigDecimal max, boolean maxExclusive) {

        boolean bounded() {
            return min != null || max != null;
        }

        /** Whether no decimal at all lies in the range. */
        boolean empty() {
            if (min == null || max == null) {
                return false;
            }
            int c = min.compareTo(max);
            return c > 0 || (c == 0 && (minExclusive || maxExclusive));
        }

        boolean contains(BigDecimal v) {
            if (min != null) {
                int c = v.compareTo(min);
                if (c < 0 || (c == 0 && minExclusive)) {
                    return false;
                }
            }
            if (max != null) {
                int c = v.compareTo(max);
                return c < 0 || (c == 0 && !maxExclusive);
            }
            return true;
        }

        /** The most fraction digits either end has (0 for whole numbers). */
        int scale() {
            int s = 0;
            for (BigDecimal end : new BigDecimal[] {min, max}) {
                if (end != null) {
                    s = Math.max(s, end.stripTrailingZeros().scale());
                }
            }
            return s;
        }

        /** The range in interval notation, as an error message shows it. */
        @Override
        public String toString() {
            return (min == null ? "(-inf" : (minExclusive ? "(" : "[") + min.toPlainString())
                    + ", "
                    + (max == null ? "+inf)" : max.toPlainString() + (maxExclusive ? ")" : "]"));
        }
    }

    /**
     * The bounds of {@code range} for an integer or a number, or null when no value of that type
     * lies in it (such as an integer in [1.2, 1.8]).
     */
    static NumberBounds of(Range range, boolean integer) {
        // Fifteen fraction digits, like unbounded numbers, unless the range is so narrow that only
        // finer steps fall in it: one digit past the bounds' own always does.
        int finest = integer ? 0 : Math.max(DEFAULT_DIGITS, range.scale() + 1);
        int frac = integer ? 0 : DEFAULT_DIGITS;
        BigInteger low = lowest(range, frac);
        BigInteger high = highest(range, frac);
        while (low != null && high != null && low.compareTo(high) > 0 && frac < finest) {
            frac++;
            low = lowest(range, frac);
            high = highest(range, frac);
        }
        if (low != null && high != null && low.compareTo(high) > 0) {
            return null;
        }
        int digits = DEFAULT_DIGITS;
        for (BigInteger end : new BigInteger[] {low, high}) {
            if (end != null) {
                digits = Math.max(digits, Math.min(intDigits(end, frac), WIDEST_FOR_A_FAR_BOUND));
            }
        }
        // A range lying wholly beyond the digits above still needs its nearest value reachable.
        BigInteger nearest = low != null && low.signum() > 0 ? low : high != null && high.signum() < 0 ? high : null;
        if (nearest != null) {
            digits = Math.max(digits, intDigits(nearest, frac));
        }
        NumberBounds bounds = new NumberBounds(integer, low, high, frac, digits);
        return bounds.reachable() ? bounds : null;
    }

    private static BigInteger lowest(Range r, int frac) {
        if (r.min() == null) {
            return null;
        }
        BigDecimal scaled = r.min().movePointRight(frac);
        return r.minExclusive()
                ? scaled.setScale(0, RoundingMode.FLOOR).toBigInteger().add(BigInteger.ONE)
                : scaled.setScale(0, RoundingMode.CEILING).toBigInteger();
    }

    private static BigInteger highest(Range r, int frac) {
        if (r.max() == null) {
            return null;
        }
        BigDecimal scaled = r.max().movePointRight(frac);
        return r.maxExclusive()
                ? scaled.setScale(0, RoundingMode.CEILING).toBigInteger().subtract(BigInteger.ONE)
                : scaled.setScale(0, RoundingMode.FLOOR).toBigInteger();
    }

    private static int intDigits(BigInteger steps, int frac) {
        return steps.abs().divide(BigInteger.TEN.pow(frac)).toString().length();
    }

    BigInteger pow10(int n) {
        return pow10[n];
    }

    /** The largest magnitude a value may have, in steps: every digit a 9. */
    BigInteger largest() {
        return pow10[intDigits + fracDigits].subtract(BigInteger.ONE);
    }

    /** Whether some value of the given sign with a magnitude in [lo, hi] (steps) is in bounds. */
    boolean meets(boolean negative, BigInteger lo, BigInteger hi) {
        if (negative) {
            BigInteger nonZero = lo.signum() == 0 ? BigInteger.ONE : lo;
            return nonZero.compareTo(hi) <= 0 && overlaps(hi.negate(), nonZero.negate());
        }
        return overlaps(lo, hi);
    }

    /** Whether every value of the given sign with a magnitude in [lo, hi] (steps) is in bounds. */
    boolean covers(boolean negative, BigInteger lo, BigInteger hi) {
        BigInteger a = negative ? hi.negate() : lo;
        BigInteger b = negative ? lo.negate() : hi;
        return (low == null || a.compareTo(low) >= 0) && (high == null || b.compareTo(high) <= 0);
    }

    /** Whether the finished value of that sign and magnitude (steps) is in bounds. */
    boolean contains(boolean negative, BigInteger magnitude) {
        return meets(negative, magnitude, magnitude);
    }

    private boolean overlaps(BigInteger a, BigInteger b) {
        return (low == null || b.compareTo(low) >= 0) && (high == null || a.compareTo(high) <= 0);
    }

    /** Whether any number within the digits can be written at all. */
    private boolean reachable() {
        return meets(false, BigInteger.ZERO, largest()) || meets(true, BigInteger.ZERO, largest());
    }
}
