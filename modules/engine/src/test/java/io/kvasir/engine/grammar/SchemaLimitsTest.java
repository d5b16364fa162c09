package io.kvasir.engine.grammar;

import static io.kvasir.engine.grammar.Automaton.accepts;
import static io.kvasir.engine.grammar.Automaton.feed;
import static io.kvasir.engine.grammar.Automaton.isPrefix;
import static io.kvasir.engine.grammar.Automaton.loose;
import static io.kvasir.engine.grammar.Automaton.strict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Number bounds and string lengths, enforced byte by byte; the keywords left unenforced, refused in strict. */
class SchemaLimitsTest {

    private static void assertAccepts(Shape s, String... texts) {
        for (String t : texts) {
            assertThat(accepts(s, t)).as("accepts %s", t).isTrue();
        }
    }

    private static void assertRejects(Shape s, String... texts) {
        for (String t : texts) {
            assertThat(accepts(s, t)).as("rejects %s", t).isFalse();
        }
    }

    private static void assertBlocked(Shape s, String... prefixes) {
        for (String t : prefixes) {
            assertThat(isPrefix(s, t)).as("blocks the prefix %s", t).isFalse();
        }
    }

    @Test
    void anIntegerRangeBlocksDigitsThatCannotEndInIt() {
        Shape s = strict("{\"type\":\"integer\",\"minimum\":0,\"maximum\":7}");
        assertAccepts(s, "0", "3", "7");
        assertRejects(s, "8", "-1", "07", "10", "3.0", "1e0");
        assertBlocked(s, "8", "-", "9", "10", "00");
        assertThat(isPrefix(s, "1")).isTrue();
    }

    @Test
    void aMinusIsOnlyOfferedWhenANegativeValueFits() {
        Shape five = strict("{\"type\":\"integer\",\"minimum\":5}");
        assertBlocked(five, "-");
        assertThat(isPrefix(five, "4")).as("4 can still become 40").isTrue();
        assertRejects(five, "4", "0");
        assertAccepts(five, "5", "45", "123456");
        Shape small = strict("{\"type\":\"integer\",\"minimum\":5,\"maximum\":7}");
        assertBlocked(small, "-", "4", "8", "0");
        assertAccepts(small, "5", "6", "7");
        // zero fits, but a minus could only lead to -0: not offered
        assertBlocked(strict("{\"type\":\"number\",\"minimum\":0}"), "-");
    }

    @Test
    void zodSafeIntegersAcceptOrdinaryIntegersAndNothingPastTheBounds() {
        String zod = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
                + "\"minimum\":-9007199254740991,\"maximum\":9007199254740991}},"
                + "\"required\":[\"n\"],\"additionalProperties\":false}";
        Shape s = strict(zod);
        for (String n : new String[] {"0", "7", "-42", "123456789", "9007199254740991", "-9007199254740991"}) {
            assertThat(accepts(s, "{\"n\":" + n + "}")).as(n).isTrue();
        }
        for (String n : new String[] {
            "9007199254740992", "-9007199254740992", "12345678901234567", "90071992547409910", "1.5", "1e3"
        }) {
            assertThat(accepts(s, "{\"n\":" + n + "}")).as(n).isFalse();
        }
        assertThat(isPrefix(s, "{\"n\":900719925474099")).isTrue();
        assertThat(isPrefix(s, "{\"n\":9007199254740992"))
                .as("blocked at its last digit")
                .isFalse();
        assertThat(isPrefix(s, "{\"n\":1234567890123456")).isTrue();
        assertThat(isPrefix(s, "{\"n\":12345678901234567")).isFalse();
    }

    @Test
    void exclusiveBoundsInBothForms() {
        Shape ints = strict("{\"type\":\"integer\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":10}");
        assertAccepts(ints, "1", "9");
        assertRejects(ints, "0", "10");
        assertBlocked(ints, "0", "-");
        Shape unit = strict("{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}");
        assertAccepts(unit, "0.5", "0.999", "0.000001");
        assertRejects(unit, "0", "0.0", "0.000", "1", "1.0");
        assertThat(isPrefix(unit, "0.0")).as("0.0 can still become 0.01").isTrue();
        assertBlocked(unit, "1", "-");
        Shape draft4 = strict("{\"type\":\"number\",\"minimum\":0,\"exclusiveMinimum\":true,"
                + "\"maximum\":1,\"exclusiveMaximum\":false}");
        assertAccepts(draft4, "0.5", "1");
        assertRejects(draft4, "0", "1.01");
        // a numeric exclusive bound beside an inclusive one: the tighter wins
        Shape both = strict("{\"type\":\"integer\",\"minimum\":2,\"exclusiveMinimum\":4,\"maximum\":9,"
                + "\"exclusiveMaximum\":20}");
        assertAccepts(both, "5", "9");
        assertRejects(both, "4", "3", "10");
    }

    @Test
    void decimalBoundsForNumbers() {
        Shape s = strict("{\"type\":\"number\",\"minimum\":0.5,\"maximum\":1.25}");
        assertAccepts(s, "0.5", "1", "1.25", "0.75", "1.0", "0.50", "1.2499");
        assertRejects(s, "0.49", "1.26", "2", "0", "1.250001", "5e-1", "-0.5");
        assertBlocked(s, "2", "-", "0.4", "1.3", "1.26");
        assertThat(isPrefix(s, "0.")).isTrue();
        assertThat(isPrefix(s, "1.2")).isTrue();
    }

    @Test
    void negativeRanges() {
        Shape ints = strict("{\"type\":\"integer\",\"minimum\":-20,\"maximum\":-10}");
        assertAccepts(ints, "-10", "-15", "-20");
        assertRejects(ints, "-9", "-21", "10", "-0");
        assertBlocked(ints, "0", "1", "-3", "-21", "-0");
        assertThat(isPrefix(ints, "-2")).isTrue();
        Shape nums = strict("{\"type\":\"number\",\"minimum\":-1.5,\"maximum\":-0.25}");
        assertAccepts(nums, "-0.25", "-1.5", "-1", "-0.3", "-1.49");
        assertRejects(nums, "-0.2", "-1.51", "0", "-0", "-2");
        assertThat(isPrefix(nums, "-0")).as("-0 can still become -0.3").isTrue();
        assertBlocked(nums, "0", "-2", "-0.1", "-0.24", "-1.6");
        assertThat(isPrefix(nums, "-0.2")).as("-0.2 can still become -0.25").isTrue();
    }

    @Test
    void wideBoundsWidenTheDigitsAndFarRangesAreReachable() {
        Shape big = strict("{\"type\":\"integer\",\"minimum\":100000000000000000000}");
        assertAccepts(big, "100000000000000000000", "123456789012345678901");
        assertRejects(big, "99999999999999999999");
        Shape tiny = strict("{\"type\":\"number\",\"exclusiveMinimum\":0.0000000000000000001,"
                + "\"exclusiveMaximum\":0.0000000000000000002}");
        assertAccepts(tiny, "0.00000000000000000015");
        assertRejects(tiny, "0.0000000000000000001", "0.0000000000000000002");
    }

    @Test
    void emptyRangesAreRefused() {
        for (String bad : new String[] {
            "{\"type\":\"integer\",\"minimum\":5,\"maximum\":4}",
            "{\"type\":\"number\",\"minimum\":5,\"maximum\":4}",
            "{\"type\":\"number\",\"exclusiveMinimum\":3,\"exclusiveMaximum\":3}",
            "{\"type\":\"number\",\"minimum\":3,\"exclusiveMaximum\":3}",
            "{\"type\":\"integer\",\"minimum\":1.2,\"maximum\":1.8}",
            "{\"type\":\"integer\",\"exclusiveMinimum\":1,\"exclusiveMaximum\":2}"
        }) {
            assertThatThrownBy(() -> strict(bad))
                    .as(bad)
                    .isInstanceOf(SchemaException.class)
                    .hasMessageContaining("leave no")
                    .hasMessageContaining("#");
            assertThatThrownBy(() -> loose(bad)).as(bad).isInstanceOf(SchemaException.class);
        }
        assertThatThrownBy(() -> strict("{\"type\":\"object\",\"properties\":{\"a\":"
                        + "{\"type\":\"integer\",\"minimum\":0.2,\"maximum\":0.8}}}"))
                .hasMessageContaining("no integer")
                .hasMessageContaining("#/properties/a")
                .hasMessageContaining("[0.2, 0.8]");
        // a number fits where no integer does
        assertAccepts(strict("{\"type\":\"number\",\"minimum\":1.2,\"maximum\":1.8}"), "1.5");
        assertAccepts(strict("{\"type\":\"integer\",\"minimum\":3,\"maximum\":3}"), "3");
    }

    @Test
    void boundsAreReadAsTheDecimalsWrittenNotAsDoubles() {
        // As a double this bound is 0.1 itself, which an exclusive maximum would refuse.
        Shape s = strict("{\"type\":\"number\",\"minimum\":0,\"exclusiveMaximum\":0.1000000000000000000001}");
        assertThat(accepts(s, "0.1")).isTrue();
        assertThat(accepts(s, "0.11")).isFalse();
    }

    @Test
    void keywordValuesAreChecked() {
        String[][] cases = {
            {"{\"type\":\"integer\",\"minimum\":\"5\"}", "'minimum'"},
            {"{\"type\":\"integer\",\"exclusiveMaximum\":null}", "'exclusiveMaximum'"},
            {"{\"type\":\"integer\",\"exclusiveMinimum\":true}", "'exclusiveMinimum'"},
            {"{\"type\":\"number\",\"maximum\":1e400}", "finite"},
            {"{\"type\":\"number\",\"minimum\":1e-400}", "in magnitude"},
            {"{\"type\":\"string\",\"minLength\":-1}", "'minLength'"},
            {"{\"type\":\"string\",\"maxLength\":1.5}", "'maxLength'"},
            {"{\"type\":\"string\",\"maxLength\":\"3\"}", "'maxLength'"},
            {"{\"type\":\"string\",\"minLength\":4,\"maxLength\":3}", "minLength 4 exceeds maxLength 3"},
        };
        for (String[] c : cases) {
            for (boolean strict : new boolean[] {true, false}) {
                assertThatThrownBy(() -> SchemaCompiler.compile(ResponseFormat.jsonSchema(
                                "{\"type\":\"object\",\"properties\":{\"x\":" + c[0] + "}}", strict)))
                        .as(c[0])
                        .isInstanceOf(SchemaException.class)
                        .hasMessageContaining(c[1])
                        .hasMessageContaining("#/properties/x");
            }
        }
        // a whole number written with a fraction is still a length
        assertAccepts(strict("{\"type\":\"string\",\"maxLength\":2.0}"), "\"ab\"");
    }

    @Test
    void maxLengthAllowsOnlyTheClosingQuoteOnceReached() {
        Shape s = strict("{\"type\":\"string\",\"maxLength\":3}");
        assertAccepts(s, "\"\"", "\"abc\"", "\"é€😀\"", "\"\\n\\u00e9x\"", "\"a\\\"b\"");
        assertRejects(s, "\"abcd\"", "\"é€😀x\"", "\"\\n\\n\\n\\n\"");
        assertThat(isPrefix(s, "\"abc")).isTrue();
        assertBlocked(s, "\"abcd", "\"abc\\", "\"abc\u00e9");
        // the first byte of a character that would not fit is already refused
        JsonState full = feed(s, "\"abc");
        assertThat(full.advance(0xC3)).isNull();
        assertThat(full.advance(0xF0)).isNull();
        assertThat(full.advance('"')).isNotNull();
        assertThat(feed(s, "\"ab").advance(0xF0))
                .as("one character left: a 4-byte one fits")
                .isNotNull();
    }

    @Test
    void minLengthHoldsTheClosingQuoteBack() {
        Shape s = strict("{\"type\":\"string\",\"minLength\":2}");
        assertAccepts(s, "\"ab\"", "\"é😀\"", "\"\\t\\\\\"", "\"" + "x".repeat(500) + "\"");
        assertRejects(s, "\"\"", "\"a\"", "\"é\"", "\"\\u0041\"");
        assertBlocked(s, "\"a\"", "\"\"");
        assertThat(feed(s, "\"abcdefgh")).as("past minLength the count stops").isEqualTo(feed(s, "\"abc"));
        Shape both = strict("{\"type\":\"string\",\"minLength\":1,\"maxLength\":1}");
        assertAccepts(both, "\"x\"", "\"😀\"");
        assertRejects(both, "\"\"", "\"xy\"");
    }

    @Test
    void aSurrogatePairOfEscapesIsOneCharacter() {
        Shape one = strict("{\"type\":\"string\",\"maxLength\":1}");
        assertAccepts(one, "\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00\"", "\"\\u00e9\"");
        assertRejects(one, "\"\\ud83d\\u00e9\"", "\"\\ude00\\ude00\"", "\"\\ud83d\\ude00x\"");
        assertBlocked(one, "\"\\ud83d\\n", "\"\\ud83d\\u00");
        Shape two = strict("{\"type\":\"string\",\"minLength\":2}");
        assertRejects(two, "\"\\ud83d\\ude00\"");
        assertAccepts(two, "\"\\ud83d\\ude00x\"", "\"\\ud83d\\ud83d\"");
        // the independent validator counts the same
        Schemas.assertValid("\"\\ud83d\\ude00\"", "{\"type\":\"string\",\"maxLength\":1}");
        Schemas.assertValid("\"\\ud83d\\ude00x\"", "{\"type\":\"string\",\"minLength\":2,\"maxLength\":2}");
    }

    @Test
    void schemasWithoutATypeHoldTheirNumbersAndStrings() {
        Shape s = strict("{\"minimum\":1,\"maximum\":3,\"maxLength\":2}");
        assertAccepts(s, "2", "2.5", "\"ab\"", "true", "null", "{\"a\":100}", "[100,\"long string\"]");
        assertRejects(s, "4", "0", "\"abc\"");
    }

    @Test
    void enumAndConstValuesOutsideTheLimitsAreLeftOut() {
        Shape s = strict("{\"enum\":[1,5,10,\"ab\",\"abcd\",null],\"maximum\":5,\"maxLength\":3}");
        assertAccepts(s, "1", "5", "\"ab\"", "null");
        assertRejects(s, "10", "\"abcd\"");
        assertThatThrownBy(() -> strict("{\"enum\":[10,20],\"maximum\":5}")).hasMessageContaining("'enum'");
        assertThatThrownBy(() -> strict("{\"const\":\"abcd\",\"maxLength\":3}")).hasMessageContaining("'const'");
    }

    @Test
    void unenforcedKeywordsAreRefusedInStrictAndIgnoredOtherwise() {
        String[][] cases = {
            {"{\"type\":\"string\",\"pattern\":\"^a+$\"}", "pattern", "\"bbb\""},
            {"{\"type\":\"integer\",\"multipleOf\":3}", "multipleOf", "7"},
            {"{\"type\":\"object\",\"minProperties\":1}", "minProperties", "{}"},
            {"{\"type\":\"object\",\"maxProperties\":1}", "maxProperties", "{\"a\":1,\"b\":2}"},
            {"{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems", "[1,1]"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> strict(c[0]))
                    .as(c[0])
                    .isInstanceOf(SchemaException.class)
                    .hasMessageContaining("unsupported schema feature '" + c[1] + "' at #");
            assertAccepts(loose(c[0]), c[2]);
        }
        // enforced keywords are not left to stand beside an anyOf or a $ref in strict mode
        String beside = "{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"null\"}],\"minimum\":0}";
        assertThatThrownBy(() -> strict(beside)).hasMessageContaining("'minimum' beside 'anyOf'");
        assertAccepts(loose(beside), "-1");
        assertThatThrownBy(() ->
                        strict("{\"$defs\":{\"s\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/s\",\"maxLength\":2}"))
                .hasMessageContaining("'maxLength' beside '$ref'");
    }

    @Test
    void enforcedInBothModes() {
        for (Shape s : new Shape[] {
            loose("{\"type\":\"integer\",\"minimum\":0,\"maximum\":7}"),
            strict("{\"type\":\"integer\",\"minimum\":0,\"maximum\":7}")
        }) {
            assertAccepts(s, "7");
            assertRejects(s, "8");
        }
        assertRejects(loose("{\"type\":\"string\",\"maxLength\":3}"), "\"abcd\"");
    }

    @Test
    void randomWalksThroughNumberBoundsEndInBounds() {
        String[] schemas = {
            "{\"type\":\"integer\",\"minimum\":0,\"maximum\":7}",
            "{\"type\":\"integer\",\"minimum\":5,\"maximum\":7}",
            "{\"type\":\"integer\",\"minimum\":-9007199254740991,\"maximum\":9007199254740991}",
            "{\"type\":\"integer\",\"exclusiveMinimum\":-1000,\"exclusiveMaximum\":-990}",
            "{\"type\":\"integer\",\"minimum\":123}",
            "{\"type\":\"integer\",\"maximum\":-5}",
            "{\"type\":\"number\",\"minimum\":0.5,\"maximum\":1.25}",
            "{\"type\":\"number\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":1}",
            "{\"type\":\"number\",\"minimum\":-1.5,\"maximum\":-0.25}",
            "{\"type\":\"number\",\"minimum\":-3.75,\"exclusiveMaximum\":12.5}",
            "{\"type\":\"number\",\"minimum\":99.99,\"maximum\":100.01}",
            "{\"type\":\"number\",\"exclusiveMinimum\":0.0000000000000000001,"
                    + "\"exclusiveMaximum\":0.0000000000000000002}"
        };
        SplittableRandom random = new SplittableRandom(20_261_208L);
        for (String schema : schemas) {
            Shape shape = strict(schema);
            JsonNode bounds = parse(schema);
            for (int walk = 0; walk < 200; walk++) {
                String text = walk(shape, random, 0.3, null);
                JsonNode value = Schemas.assertValid(text, schema);
                BigDecimal v = new BigDecimal(text);
                assertThat(value.isNumber()).as(text).isTrue();
                check(bounds, v, text);
            }
        }
    }

    @Test
    void randomWalksThroughStringLengthsKeepTheLengths() {
        String[] schemas = {
            "{\"type\":\"string\",\"maxLength\":3}",
            "{\"type\":\"string\",\"minLength\":2,\"maxLength\":4}",
            "{\"type\":\"string\",\"minLength\":5}",
            "{\"type\":\"string\",\"minLength\":0,\"maxLength\":0}",
            "{\"type\":\"string\",\"minLength\":1,\"maxLength\":1}"
        };
        SplittableRandom random = new SplittableRandom(7L);
        for (String schema : schemas) {
            Shape shape = strict(schema);
            for (int walk = 0; walk < 300; walk++) {
                assertLength(walk(shape, random, 0.2, null), schema);
            }
            // Uniform bytes hardly ever spell an escape, let alone a surrogate pair: walk over whole
            // pieces too, as a vocabulary's tokens would come, taking any piece the automaton allows.
            String[] pieces = {
                "\\ud83d",
                "\\ude00",
                "\\uDBFF",
                "\\uDC00",
                "\\u00e9",
                "\\n",
                "\\\"",
                "a",
                "\u00e9",
                "\ud83d\ude00",
                "\""
            };
            for (int walk = 0; walk < 300; walk++) {
                JsonState state = JsonState.start(shape).advance('"');
                StringBuilder text = new StringBuilder("\"");
                while (!state.complete()) {
                    List<String> fit = new ArrayList<>();
                    for (String p : pieces) {
                        if (state.advance(p.getBytes(StandardCharsets.UTF_8)) != null) {
                            fit.add(p);
                        }
                    }
                    assertThat(fit).as("pieces allowed after %s", text).isNotEmpty();
                    String p = fit.get(random.nextInt(fit.size()));
                    text.append(p);
                    state = state.advance(p.getBytes(StandardCharsets.UTF_8));
                }
                assertLength(text.toString(), schema);
            }
        }
    }

    /** Checks the string's length by hand, besides the independent validator. */
    private static void assertLength(String text, String schema) {
        JsonNode limits = parse(schema);
        String v = Schemas.assertValid(text, schema).textValue();
        int n = v.codePointCount(0, v.length());
        assertThat(n).as(text).isGreaterThanOrEqualTo(limits.path("minLength").asInt(0));
        assertThat(n).as(text).isLessThanOrEqualTo(limits.path("maxLength").asInt(Integer.MAX_VALUE));
    }

    /**
     * Every text of up to three characters is a prefix exactly when some number of up to six
     * characters in bounds starts with it, and is accepted exactly when it is such a number: the
     * numbers are listed by brute force, independent of the automaton's interval arithmetic.
     */
    @Test
    void shortTextsAgreeWithAnExhaustiveList() {
        String[] schemas = {
            "{\"type\":\"integer\",\"minimum\":-15,\"maximum\":20}",
            "{\"type\":\"integer\",\"exclusiveMinimum\":3,\"exclusiveMaximum\":9}",
            "{\"type\":\"integer\",\"maximum\":-7}",
            "{\"type\":\"number\",\"minimum\":-12.5,\"exclusiveMaximum\":7.25}",
            "{\"type\":\"number\",\"exclusiveMinimum\":-0.5,\"maximum\":0}",
            "{\"type\":\"number\",\"minimum\":0.05,\"maximum\":0.2}"
        };
        String alphabet = "-0123456789.e";
        for (String schema : schemas) {
            Shape shape = strict(schema);
            JsonNode bounds = parse(schema);
            boolean integer = bounds.get("type").asText().equals("integer");
            Set<String> numbers = new HashSet<>();
            Set<String> prefixes = new HashSet<>();
            for (String n : numbersUpTo(6, integer)) {
                if (inBounds(bounds, new BigDecimal(n)) && !(n.startsWith("-") && new BigDecimal(n).signum() == 0)) {
                    numbers.add(n);
                    for (int i = 0; i <= n.length(); i++) {
                        prefixes.add(n.substring(0, i));
                    }
                }
            }
            List<String> texts = new ArrayList<>(List.of(""));
            for (int len = 1; len <= 3; len++) {
                for (String t : List.copyOf(texts)) {
                    if (t.length() == len - 1) {
                        for (char c : alphabet.toCharArray()) {
                            texts.add(t + c);
                        }
                    }
                }
            }
            for (String t : texts) {
                assertThat(isPrefix(shape, t)).as("%s: prefix %s", schema, t).isEqualTo(prefixes.contains(t));
                assertThat(accepts(shape, t)).as("%s: accepts %s", schema, t).isEqualTo(numbers.contains(t));
            }
        }
    }

    /** Every JSON number without exponent of at most {@code max} characters. */
    private static List<String> numbersUpTo(int max, boolean integer) {
        List<String> out = new ArrayList<>();
        for (String sign : new String[] {"", "-"}) {
            for (int whole = 0; (sign + whole).length() <= max; whole++) {
                String head = sign + whole;
                out.add(head);
                int room = max - head.length() - 1;
                for (int digits = 1; !integer && digits <= room; digits++) {
                    for (int f = 0; f < Math.pow(10, digits); f++) {
                        out.add(head + "." + String.format("%0" + digits + "d", f));
                    }
                }
            }
        }
        return out;
    }

    private static boolean inBounds(JsonNode schema, BigDecimal v) {
        return (!schema.has("minimum") || v.compareTo(schema.get("minimum").decimalValue()) >= 0)
                && (!schema.has("maximum") || v.compareTo(schema.get("maximum").decimalValue()) <= 0)
                && (!schema.has("exclusiveMinimum")
                        || v.compareTo(schema.get("exclusiveMinimum").decimalValue()) > 0)
                && (!schema.has("exclusiveMaximum")
                        || v.compareTo(schema.get("exclusiveMaximum").decimalValue()) < 0);
    }

    /**
     * Picks random allowed bytes (never whitespace outside the value; only those in {@code only}
     * unless it is null) until the value is complete, or stops with probability {@code stop} where
     * it may end; asserts the mask never runs dry before.
     */
    private static String walk(Shape shape, SplittableRandom random, double stop, String only) {
        JsonState s = JsonState.start(shape);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int step = 0; step < 5_000; step++) {
            if (s.complete() || (s.canEnd() && random.nextDouble() < stop)) {
                return out.toString(StandardCharsets.UTF_8);
            }
            // whitespace before the value, or after it where it may end, is not part of the value
            boolean outside = out.size() == 0 || s.canEnd();
            int[] allowed = new int[256];
            int n = 0;
            for (int b = 0; b < 256; b++) {
                boolean wanted = only == null || only.indexOf(b) >= 0;
                if (wanted && !(outside && Frame.isWhitespace(b)) && s.advance(b) != null) {
                    allowed[n++] = b;
                }
            }
            if (n == 0) {
                assertThat(s.canEnd()).as("a dead end after %s", out).isTrue();
                return out.toString(StandardCharsets.UTF_8);
            }
            int b = allowed[random.nextInt(n)];
            out.write(b);
            s = s.advance(b);
        }
        throw new AssertionError("no end after 5000 bytes: " + out);
    }

    private static JsonNode parse(String json) {
        try {
            return Schemas.JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** The bounds checked by hand too, in exact decimals. */
    private static void check(JsonNode schema, BigDecimal v, String text) {
        if (schema.has("minimum")) {
            assertThat(v).as(text).isGreaterThanOrEqualTo(schema.get("minimum").decimalValue());
        }
        if (schema.has("maximum")) {
            assertThat(v).as(text).isLessThanOrEqualTo(schema.get("maximum").decimalValue());
        }
        if (schema.has("exclusiveMinimum")) {
            assertThat(v).as(text).isGreaterThan(schema.get("exclusiveMinimum").decimalValue());
        }
        if (schema.has("exclusiveMaximum")) {
            assertThat(v).as(text).isLessThan(schema.get("exclusiveMaximum").decimalValue());
        }
        if (schema.path("type").asText().equals("integer")) {
            assertThat(text).doesNotContain(".", "e", "E");
        }
    }
}
