package io.kvasir.engine.grammar;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.List;

/**
 * The narrowing keywords the automaton enforces, read from one schema node and checked: the bounds
 * of numbers (minimum, maximum, exclusiveMinimum, exclusiveMaximum, in JSON Schema 2020's numeric
 * form or draft 4's boolean one), the length of strings (minLength, maxLength) and their {@code
 * format} (the ones {@link Formats} knows). Each applies only to values of its kind, as in JSON
 * Schema: a string's schema may carry a minimum to no effect, an integer's a format.
 */
final class Limits {

    /** The keywords read here, in the order a message names the first one present. */
    static final List<String> KEYWORDS =
            List.of("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "format");

    private final NumberBounds.Range range;
    private final int minLength;
    private final int maxLength;
    /** A supported format, or null: none, or one ignored without strict. */
    private final String format;

    private final String path;

    private Limits(NumberBounds.Range range, int minLength, int maxLength, String format, String path) {
        this.range = range;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.format = format;
        this.path = path;
    }

    /**
     * Reads the keywords of {@code node} (a schema object at {@code path}); throws on a bad value,
     * and in strict mode on a format that is not enforced (without strict, such a format is ignored).
     */
    static Limits read(JsonNode node, String path, boolean strict) {
        BigDecimal min = number(node, "minimum", path);
        BigDecimal max = number(node, "maximum", path);
        boolean minExclusive = false;
        boolean maxExclusive = false;
        JsonNode exMin = node.get("exclusiveMinimum");
        if (exMin != null && exMin.isBoolean()) {
            minExclusive = draft4(exMin, min, "exclusiveMinimum", "minimum", path);
        } else if (exMin != null) {
            BigDecimal v = number(node, "exclusiveMinimum", path);
            if (min == null || v.compareTo(min) >= 0) { // the tighter of the two lower bounds
                min = v;
                minExclusive = true;
            }
        }
        JsonNode exMax = node.get("exclusiveMaximum");
        if (exMax != null && exMax.isBoolean()) {
            maxExclusive = draft4(exMax, max, "exclusiveMaximum", "maximum", path);
        } else if (exMax != null) {
            BigDecimal v = number(node, "exclusiveMaximum", path);
            if (max == null || v.compareTo(max) <= 0) {
                max = v;
                maxExclusive = true;
            }
        }
        NumberBounds.Range range = new NumberBounds.Range(min, minExclusive, max, maxExclusive);
        if (range.empty()) {
            throw new SchemaException("the bounds at " + path + " leave no number: " + range);
        }
        int minLength = length(node, "minLength", 0, path);
        int maxLength = length(node, "maxLength", -1, path);
        if (maxLength >= 0 && minLength > maxLength) {
            throw new SchemaException("minLength " + minLength + " exceeds maxLength " + maxLength + " at " + path);
        }
        return new Limits(range, minLength, maxLength, format(node, path, strict), path);
    }

    private static String format(JsonNode node, String path, boolean strict) {
        JsonNode v = node.get("format");
        if (v == null) {
            return null;
        }
        if (v.isTextual() && Formats.supported(v.textValue())) {
            return v.textValue();
        }
        if (strict) {
            throw new SchemaException("unsupported format " + v + " at " + path + " (supported: "
                    + String.join(", ", Formats.SUPPORTED) + ")");
        }
        return null;
    }

    private static final BigDecimal LARGEST = new BigDecimal(Double.MAX_VALUE);
    private static final BigDecimal SMALLEST = new BigDecimal(Double.MIN_NORMAL);

    private static BigDecimal number(JsonNode node, String keyword, String path) {
        JsonNode v = node.get(keyword);
        if (v == null) {
            return null;
        }
        if (!v.isNumber()) {
            throw new SchemaException("'" + keyword + "' at " + path + " must be a number");
        }
        BigDecimal exact = v.decimalValue();
        // Bounds stay within a double's range, finite and not below its smallest normal magnitude:
        // beyond it a client's own validator (JavaScript, most JSON parsers) could not tell the
        // values apart, and the digits a bound needs stay a few hundred at most.
        if (exact.abs().compareTo(LARGEST) > 0) {
            throw new SchemaException("'" + keyword + "' at " + path + " must be a finite number");
        }
        if (exact.signum() != 0 && exact.abs().compareTo(SMALLEST) < 0) {
            throw new SchemaException(
                    "'" + keyword + "' at " + path + " must be 0 or at least " + Double.MIN_NORMAL + " in magnitude");
        }
        return exact;
    }

    /** Draft 4's {@code exclusiveMinimum: true}: it makes {@code minimum} exclusive, and needs one. */
    private static boolean draft4(JsonNode flag, BigDecimal bound, String keyword, String boundKeyword, String path) {
        if (flag.booleanValue() && bound == null) {
            throw new SchemaException("'" + keyword + "' at " + path + " is true but there is no '" + boundKeyword
                    + "' to make exclusive");
        }
        return flag.booleanValue();
    }

    private static int length(JsonNode node, String keyword, int absent, String path) {
        JsonNode v = node.get(keyword);
        if (v == null) {
            return absent;
        }
        if (!v.isNumber() || !v.canConvertToExactIntegral() || v.decimalValue().signum() < 0) {
            throw new SchemaException("'" + keyword + "' at " + path + " must be a non-negative integer");
        }
        // A length past int's range is beyond any string a model writes: as good as unbounded.
        BigDecimal d = v.decimalValue();
        return d.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0 ? Integer.MAX_VALUE : d.intValueExact();
    }

    /** The first of the keywords present in {@code node}, or null. */
    static String firstIn(JsonNode node) {
        for (String k : KEYWORDS) {
            if (node.has(k)) {
                return k;
            }
        }
        return null;
    }

    /** The shape of an integer or a number under these bounds. */
    Shape.Num number(boolean integer) {
        if (!range.bounded()) {
            return integer ? Shape.Num.INTEGER : Shape.Num.NUMBER;
        }
        NumberBounds bounds = NumberBounds.of(range, integer);
        if (bounds == null) {
            throw new SchemaException("the bounds at " + path + " leave no " + (integer ? "integer" : "number") + ": "
                    + range + (integer ? "" : " (with at most the digits a number may have)"));
        }
        return new Shape.Num(integer, bounds);
    }

    /** The shape of a string of these lengths and format. */
    Shape.Str string() {
        if (format != null) {
            return new Shape.Str(minLength, maxLength, formatDfa());
        }
        return minLength == 0 && maxLength < 0 ? Shape.Str.INSTANCE : new Shape.Str(minLength, maxLength);
    }

    private ByteDfa formatDfa() {
        ByteDfa d = Formats.dfa(format, minLength, maxLength);
        if (d == null) {
            throw new SchemaException("no string of format '" + format + "' has a length in [" + minLength + ", "
                    + (maxLength < 0 ? "unbounded" : maxLength) + "] at " + path);
        }
        return d;
    }

    /** Any value, its numbers and strings held to these limits. */
    Shape.Any any() {
        Shape.Num n = number(false);
        Shape.Str s = string();
        return n == Shape.Num.NUMBER && s == Shape.Str.INSTANCE ? Shape.Any.INSTANCE : new Shape.Any(n, s);
    }

    /** Whether a literal (an enum value, a const) keeps to these limits. */
    boolean admits(JsonNode value) {
        if (value.isNumber()) {
            return range.contains(value.decimalValue());
        }
        if (value.isTextual()) {
            String s = value.textValue();
            if (format != null) {
                ByteDfa d = Formats.dfa(format, minLength, maxLength); // holds the lengths too
                return d != null && d.matches(s);
            }
            int length = s.codePointCount(0, s.length());
            return length >= minLength && (maxLength < 0 || length <= maxLength);
        }
        return true;
    }
}
