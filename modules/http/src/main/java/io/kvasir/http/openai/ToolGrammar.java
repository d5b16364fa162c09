package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.grammar.SchemaCompiler;
import io.kvasir.engine.grammar.SchemaException;
import io.kvasir.http.ApiError;
import io.kvasir.http.openai.tools.ToolRequest;

/**
 * For {@code tool_choice} {@code required} or a named function: the schema of one call object,
 * {@code {"name": ..., "arguments": {...}}}, with the name fixed and the arguments held to that
 * function's parameters (any of the offered functions for {@code required}). The constrained answer
 * is then a bare JSON call, which the Llama-style parser reads because it names an offered function.
 */
final class ToolGrammar {

    private ToolGrammar() {}

    static ResponseFormat format(ToolRequest tools) {
        JsonNode defs = parse(tools.json());
        ArrayNode alternatives = JsonNodeFactory.instance.arrayNode();
        for (JsonNode tool : defs) {
            JsonNode fn = tool.get("function");
            String name = fn.get("name").textValue();
            if (tools.function() == null || tools.function().equals(name)) {
                alternatives.add(callSchema(name, fn.get("parameters")));
            }
        }
        JsonNode schema;
        if (alternatives.size() == 1) {
            schema = alternatives.get(0);
        } else {
            ObjectNode anyOf = JsonNodeFactory.instance.objectNode();
            anyOf.set("anyOf", alternatives);
            schema = anyOf;
        }
        ResponseFormat format = ResponseFormat.jsonSchema(schema.toString(), false);
        try {
            SchemaCompiler.check(format);
        } catch (SchemaException e) {
            throw ApiError.invalid("Invalid parameters schema in 'tools': " + e.getMessage(), "tools")
                    .toException();
        }
        return format;
    }

    private static ObjectNode callSchema(String name, JsonNode parameters) {
        ObjectNode nameSchema = JsonNodeFactory.instance.objectNode();
        nameSchema.put("const", name);
        ObjectNode properties = JsonNodeFactory.instance.objectNode();
        properties.set("name", nameSchema);
        properties.set("arguments", parameters == null ? objectSchema() : parameters);
        ObjectNode call = objectSchema();
        call.set("properties", properties);
        call.set("required", JsonNodeFactory.instance.arrayNode().add("name").add("arguments"));
        call.put("additionalProperties", false);
        return call;
    }

    private static ObjectNode objectSchema() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("type", "object");
        return o;
    }

    private static JsonNode parse(String json) {
        try {
            return OpenAiJson.MAPPER.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("tool definitions were checked when read", e);
        }
    }
}
