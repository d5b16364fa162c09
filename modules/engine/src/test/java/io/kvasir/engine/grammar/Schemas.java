package io.kvasir.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

/** Test schemas, and the independent check that output is JSON valid against them. */
final class Schemas {

    static final ObjectMapper JSON = new ObjectMapper();

    /** A strict-mode schema with most supported features: nesting, arrays, enums, anyOf, $defs. */
    static final String PERSON = """
            {"type":"object","additionalProperties":false,
             "properties":{
               "name":{"type":"string"},
               "age":{"type":"integer"},
               "score":{"type":"number"},
               "role":{"type":"string","enum":["admin","user","guest"]},
               "tags":{"type":"array","items":{"type":"string"},"maxItems":3},
               "address":{"$ref":"#/$defs/address"},
               "manager":{"anyOf":[{"type":"null"},{"type":"boolean"}]}
             },
             "required":["name","age","score","role","tags","address","manager"],
             "$defs":{"address":{"type":"object","additionalProperties":false,
               "properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},
               "required":["city","zip"]}}}
            """;

    /**
     * No free-form strings: a model with random weights closes a string only by chance (one token in
     * hundreds holds a quote), so this is the schema whose every sample must come to an end.
     */
    static final String ORDER = """
            {"type":"object","additionalProperties":false,
             "properties":{
               "id":{"type":"integer"},
               "total":{"type":"number"},
               "paid":{"type":"boolean"},
               "status":{"enum":["open","shipped","closed",null]},
               "lines":{"type":"array","minItems":1,"maxItems":3,"items":{"$ref":"#/$defs/line"}},
               "note":{"anyOf":[{"type":"null"},{"const":"fragile"}]}
             },
             "required":["id","total","paid","status","lines","note"],
             "$defs":{"line":{"type":"object","additionalProperties":false,
               "properties":{"sku":{"enum":["A-1","B-2"]},"qty":{"type":"integer"},
                             "dims":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2}},
               "required":["sku","qty","dims"]}}}
            """;

    /**
     * Bounded numbers and strings of bounded length, as zod and pydantic write them; every string has
     * a maxLength, so a walk that stalls nowhere else must close them.
     */
    static final String LIMITS = """
            {"type":"object","additionalProperties":false,
             "properties":{
               "qty":{"type":"integer","minimum":1,"maximum":99},
               "price":{"type":"number","exclusiveMinimum":0,"maximum":1000.5},
               "code":{"type":"string","minLength":2,"maxLength":4},
               "temp":{"type":"number","minimum":-40.5,"maximum":-0.5},
               "id":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}
             },
             "required":["qty","price","code","temp","id"]}
            """;

    /** Every string held to a format (and the unbounded ones to a maxLength), so walks close them. */
    static final String FORMATS = """
            {"type":"object","additionalProperties":false,
             "properties":{
               "day":{"type":"string","format":"date"},
               "at":{"type":"string","format":"date-time"},
               "id":{"type":"string","format":"uuid"},
               "ip":{"type":"string","format":"ipv4"},
               "mail":{"type":"string","format":"email","maxLength":24},
               "host":{"anyOf":[{"type":"string","format":"hostname","maxLength":16},{"type":"null"}]},
               "took":{"type":"string","format":"duration"}
             },
             "required":["day","at","id","ip","mail","host","took"]}
            """;

    private Schemas() {}

    /** Asserts that {@code text} parses as JSON and validates against {@code schema} (null: any object). */
    static JsonNode assertValid(String text, String schema) {
        JsonNode value;
        try {
            value = JSON.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + text, e);
        }
        if (schema == null) {
            assertThat(value.isObject()).as(text).isTrue();
            return value;
        }
        Schema s = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(schema);
        assertThat(s.validate(value)).as(text).isEmpty();
        return value;
    }
}
