package io.kvasir.engine.grammar;

import static io.kvasir.engine.grammar.Automaton.accepts;
import static io.kvasir.engine.grammar.Automaton.feed;
import static io.kvasir.engine.grammar.Automaton.isPrefix;
import static io.kvasir.engine.grammar.Automaton.strict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class JsonAutomatonTest {

    @Test
    void anyJsonObjectAcceptsValidJson() {
        Shape any = Shape.Obj.ANY;
        for (String ok : new String[] {
            "{}",
            "{\"a\":1}",
            "{\"a\": [1, 2.5, -3e10, true, false, null, \"x\"], \"b\": {\"c\": {}}}",
            "{\"s\":\"esc \\\" \\\\ \\n \\u00e9 caf\u00e9 \u2603 \ud83d\ude00\"}",
            "{\n  \"a\": 0,\n  \"b\": -0.5E+2\n}",
            " {\"a\":[]}"
        }) {
            assertThat(accepts(any, ok)).as(ok).isTrue();
            assertThat(feed(any, ok).complete()).as(ok).isTrue();
        }
    }

    @Test
    void anyJsonObjectRejectsInvalidJson() {
        Shape any = Shape.Obj.ANY;
        for (String bad : new String[] {
            "[1]",
            "1",
            "\"x\"",
            "{a:1}",
            "{\"a\" 1}",
            "{\"a\":01}",
            "{\"a\":1,}",
            "{\"a\":[1,]}",
            "{\"a\":tru}",
            "{\"a\":\"\n\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":1}}",
            "{\"a\":-}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{} x"
        }) {
            assertThat(accepts(any, bad)).as(bad).isFalse();
        }
        assertThat(isPrefix(any, "{\"a\":[1,")).isTrue();
        assertThat(accepts(any, "{\"a\":[1,")).isFalse();
    }

    @Test
    void whitespaceRunsAreBounded() {
        Shape any = Shape.Obj.ANY;
        assertThat(isPrefix(any, "{  ")).isTrue();
        assertThat(isPrefix(any, "{   ")).isFalse();
        assertThat(isPrefix(any, "{\n" + " ".repeat(Frame.MAX_INDENT))).isTrue();
        assertThat(isPrefix(any, "{\n" + " ".repeat(Frame.MAX_INDENT + 1))).isFalse();
        assertThat(isPrefix(any, "{\n\n")).isFalse();
    }

    @Test
    void utf8IsCheckedByteByByte() {
        Shape any = Shape.Obj.ANY;
        byte[] prefix = "{\"a\":\"".getBytes(StandardCharsets.UTF_8);
        JsonState s = JsonState.start(any).advance(prefix);
        assertThat(s.advance(0xE2)).isNotNull(); // first byte of U+2603, completed later
        assertThat(s.advance(0xE2).advance(0x98).advance(0x83).advance('"')).isNotNull();
        assertThat(s.advance(0xE2).advance('"')).isNull(); // a character cut short
        assertThat(s.advance(0xC0)).isNull(); // overlong
        assertThat(s.advance(0xED).advance(0xA0)).isNull(); // surrogate
        assertThat(s.advance(0x80)).isNull(); // stray continuation
    }

    @Test
    void requiredPropertiesComeInOrderAndMustAllBeThere() {
        Shape s = strict("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                + "\"age\":{\"type\":\"integer\"},\"tag\":{\"type\":\"string\"}},"
                + "\"required\":[\"name\",\"age\"],\"additionalProperties\":false}");
        assertThat(accepts(s, "{\"name\":\"Ann\",\"age\":31}")).isTrue();
        assertThat(accepts(s, "{\"name\":\"Ann\",\"age\":31,\"tag\":\"x\"}")).isTrue();
        assertThat(accepts(s, "{\"name\":\"Ann\"}")).isFalse();
        assertThat(accepts(s, "{\"age\":31,\"name\":\"Ann\"}")).isFalse();
        assertThat(accepts(s, "{\"name\":\"Ann\",\"age\":31.5}")).isFalse();
        assertThat(accepts(s, "{\"name\":\"Ann\",\"age\":31,\"other\":1}")).isFalse();
        assertThat(accepts(s, "{\"name\":1,\"age\":31}")).isFalse();
        assertThat(isPrefix(s, "{\"na")).isTrue();
        assertThat(isPrefix(s, "{\"ag")).isFalse();
    }

    @Test
    void optionalPropertiesMayBeSkipped() {
        Shape s = strict("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"},"
                + "\"b\":{\"type\":\"null\"},\"c\":{\"type\":\"number\"}},\"required\":[\"c\"]}");
        assertThat(accepts(s, "{\"c\":1}")).isTrue();
        assertThat(accepts(s, "{\"b\":null,\"c\":1}")).isTrue();
        assertThat(accepts(s, "{\"a\":true,\"c\":-1.5e3}")).isTrue();
        assertThat(accepts(s, "{}")).isFalse();
        assertThat(accepts(s, "{\"a\":true}")).isFalse();
    }

    @Test
    void enumsAndConsts() {
        Shape s = strict("{\"type\":\"object\",\"properties\":{"
                + "\"color\":{\"type\":\"string\",\"enum\":[\"red\",\"green\",\"dark \\\"green\\\"\"]},"
                + "\"n\":{\"enum\":[1,12,null]},\"k\":{\"const\":\"fixed\"}},"
                + "\"required\":[\"color\",\"n\",\"k\"],\"additionalProperties\":false}");
        assertThat(accepts(s, "{\"color\":\"red\",\"n\":1,\"k\":\"fixed\"}")).isTrue();
        assertThat(accepts(s, "{\"color\":\"dark \\\"green\\\"\",\"n\":12,\"k\":\"fixed\"}"))
                .isTrue();
        assertThat(accepts(s, "{\"color\":\"green\",\"n\":null,\"k\":\"fixed\"}"))
                .isTrue();
        assertThat(accepts(s, "{\"color\":\"blue\",\"n\":1,\"k\":\"fixed\"}")).isFalse();
        assertThat(accepts(s, "{\"color\":\"red\",\"n\":2,\"k\":\"fixed\"}")).isFalse();
        assertThat(accepts(s, "{\"color\":\"red\",\"n\":123,\"k\":\"fixed\"}")).isFalse();
        assertThat(accepts(s, "{\"color\":\"red\",\"n\":1,\"k\":\"other\"}")).isFalse();
    }

    @Test
    void nestedArraysCountTheirItems() {
        Shape s = strict("{\"type\":\"object\",\"properties\":{\"m\":{\"type\":\"array\",\"items\":"
                + "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":2}}},"
                + "\"required\":[\"m\"]}");
        assertThat(accepts(s, "{\"m\":[]}")).isTrue();
        assertThat(accepts(s, "{\"m\":[[1],[2,3]]}")).isTrue();
        assertThat(accepts(s, "{\"m\":[[]]}")).isFalse();
        assertThat(accepts(s, "{\"m\":[[1,2,3]]}")).isFalse();
        assertThat(accepts(s, "{\"m\":[[1.5]]}")).isFalse();
    }

    @Test
    void numbers() {
        Shape n = strict("{\"type\":\"number\"}");
        for (String ok : new String[] {"0", "-0", "12", "1.5", "-1.25e-3", "3E+7", "0.0"}) {
            assertThat(accepts(n, ok)).as(ok).isTrue();
            assertThat(feed(n, ok).complete()).as("a number can always go on").isFalse();
        }
        for (String bad : new String[] {"01", "+1", "1.", "1e", "--1", "1.5.2", "1" + "0".repeat(15)}) {
            assertThat(accepts(n, bad)).as(bad).isFalse();
        }
        Shape i = strict("{\"type\":\"integer\"}");
        assertThat(accepts(i, "-42")).isTrue();
        assertThat(accepts(i, "4.2")).isFalse();
        assertThat(accepts(i, "4e2")).isFalse();
    }

    @Test
    void anyOfAndRefsAndRecursion() {
        Shape s = strict("{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{"
                + "\"v\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\"},{\"type\":\"null\"}]},"
                + "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},"
                + "\"required\":[\"v\",\"kids\"],\"additionalProperties\":false}},"
                + "\"$ref\":\"#/$defs/node\"}");
        assertThat(accepts(s, "{\"v\":\"a\",\"kids\":[{\"v\":1,\"kids\":[]},{\"v\":null,\"kids\":[]}]}"))
                .isTrue();
        assertThat(accepts(s, "{\"v\":true,\"kids\":[]}")).isFalse();
        assertThat(accepts(s, "{\"v\":1,\"kids\":[{\"v\":1}]}")).isFalse();
    }

    @Test
    void anyOfObjectsStayUndecidedUntilTheKeysDiffer() {
        Shape s = strict("{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
                + "\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"]},{\"type\":\"object\",\"properties\":"
                + "{\"a\":{\"type\":\"integer\"},\"c\":{\"type\":\"string\"}},\"required\":[\"a\",\"c\"]}]}");
        assertThat(accepts(s, "{\"a\":1,\"b\":2}")).isTrue();
        assertThat(accepts(s, "{\"a\":1,\"c\":\"x\"}")).isTrue();
        assertThat(accepts(s, "{\"a\":1,\"c\":2}")).isFalse();
        assertThat(accepts(s, "{\"a\":1}")).isFalse();
    }

    @Test
    void typeListsAndOpenObjects() {
        Shape s = strict("{\"type\":\"object\",\"properties\":{\"x\":{\"type\":[\"string\",\"null\"]},"
                + "\"m\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}},"
                + "\"required\":[\"x\",\"m\"]}");
        assertThat(accepts(s, "{\"x\":null,\"m\":{\"any key\":1,\"b\":2}}")).isTrue();
        assertThat(accepts(s, "{\"x\":\"s\",\"m\":{}}")).isTrue();
        assertThat(accepts(s, "{\"x\":\"s\",\"m\":{\"k\":\"v\"}}")).isFalse();
    }

    @Test
    void statesRepeatInsideStringsAndLongArrays() {
        Shape any = Shape.Obj.ANY;
        assertThat(feed(any, "{\"a\":\"hello")).isEqualTo(feed(any, "{\"a\":\"hel"));
        assertThat(feed(any, "{\"a\":[1,2,3,")).isEqualTo(feed(any, "{\"a\":[7,"));
    }

    @Test
    void unsupportedFeaturesAreNamed() {
        assertThatThrownBy(() -> strict("{\"type\":\"string\",\"pattern\":\"^a\"}"))
                .isInstanceOf(SchemaException.class)
                .hasMessageContaining("'pattern'");
        assertThatThrownBy(() -> strict("{\"type\":\"object\",\"properties\":{\"a\":{\"not\":{}}}}"))
                .hasMessageContaining("'not'")
                .hasMessageContaining("#/properties/a");
        assertThatThrownBy(() -> strict("{\"oneOf\":[{\"type\":\"string\"}]}")).hasMessageContaining("'oneOf'");
        assertThatThrownBy(() -> strict("{\"$ref\":\"http://example.com/s.json\"}"))
                .hasMessageContaining("unsupported $ref");
        assertThatThrownBy(() -> strict("{\"type\":\"strin\"}")).hasMessageContaining("unknown type 'strin'");
        assertThatThrownBy(() -> strict("{\"type\":\"object\",\"required\":[\"a\"]}"))
                .hasMessageContaining("'a'");
        assertThatThrownBy(() -> strict("{\"$ref\":\"#\"}")).hasMessageContaining("refers to itself");
        assertThatThrownBy(() -> strict("{not json")).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> strict("{\"type\":\"array\",\"minItems\":3,\"maxItems\":1}"))
                .hasMessageContaining("minItems");
        // without strict, narrowing keywords the automaton does not enforce are best effort: ignored
        assertThat(SchemaCompiler.compile(ResponseFormat.jsonSchema("{\"type\":\"string\",\"pattern\":\"^a\"}", false)))
                .isSameAs(Shape.Str.INSTANCE);
    }
}
