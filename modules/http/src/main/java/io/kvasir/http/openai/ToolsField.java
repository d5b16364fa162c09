package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.http.ApiError;
import io.kvasir.http.openai.tools.ToolRequest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code tools}, {@code tool_choice} and {@code parallel_tool_calls}. Each tool is checked here and
 * rewritten to the fields a chat template reads (type, and the function's name, description and
 * parameters), so what crosses the cluster is only what the model is meant to see.
 */
final class ToolsField {

    /** OpenAI's rule for a function's name. */
    private static final Pattern FUNCTION_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    private ToolsField() {}

    static ToolRequest read(JsonFields f) {
        JsonNode toolsNode = f.raw("tools");
        List<String> names = new ArrayList<>();
        ArrayNode tools = JsonNodeFactory.instance.arrayNode();
        if (toolsNode != null) {
            if (!toolsNode.isArray()) {
                throw JsonFields.wrongType("tools", "an array of tool objects");
            }
            Set<String> seen = new LinkedHashSet<>();
            for (int i = 0; i < toolsNode.size(); i++) {
                ObjectNode tool = tool(toolsNode.get(i), "tools[" + i + "]");
                String name = tool.get("function").get("name").textValue();
                if (!seen.add(name)) {
                    throw invalid("The function name '" + name + "' appears more than once in 'tools'.", "tools");
                }
                names.add(name);
                tools.add(tool);
            }
        }
        boolean parallel = f.bool("parallel_tool_calls", true);
        String choice = "auto";
        String function = null;
        JsonNode choiceNode = f.raw("tool_choice");
        if (choiceNode != null && choiceNode.isTextual()) {
            choice = choiceNode.textValue();
            if (!Set.of("none", "auto", "required").contains(choice)) {
                throw invalid(
                        "'tool_choice' must be 'none', 'auto', 'required' or a function object, got '" + choice + "'.",
                        "tool_choice");
            }
        } else if (choiceNode != null) {
            function = namedFunction(choiceNode);
            if (!names.contains(function)) {
                throw invalid(
                        "'tool_choice' names the function '" + function + "', which is not in 'tools'.", "tool_choice");
            }
            choice = "function";
        }
        if (names.isEmpty() && choice.equals("required")) {
            throw invalid("'tool_choice' 'required' needs at least one tool in 'tools'.", "tool_choice");
        }
        return names.isEmpty()
                ? new ToolRequest(List.of(), null, choice, null, parallel)
                : new ToolRequest(names, tools.toString(), choice, function, parallel);
    }

    /**
     * {@code tool_choice} and {@code parallel_tool_calls} as the client sent them (after {@link
     * #read} checked them), for engines that take them as fields; null when the model is offered no
     * tools or neither field was given.
     */
    static String choiceFields(JsonFields f, ToolRequest tools) {
        if (!tools.offered() || (!f.has("tool_choice") && !f.has("parallel_tool_calls"))) {
            return null;
        }
        ObjectNode fields = JsonNodeFactory.instance.objectNode();
        if (f.has("tool_choice")) {
            fields.set("tool_choice", f.raw("tool_choice"));
        }
        if (f.has("parallel_tool_calls")) {
            fields.put("parallel_tool_calls", tools.parallel());
        }
        return fields.toString();
    }

    private static ObjectNode tool(JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw JsonFields.wrongType(path, "an object");
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual() || !type.textValue().equals("function")) {
            throw invalid("'" + path + ".type' must be 'function'.", path + ".type");
        }
        JsonNode function = node.get("function");
        if (function == null || !function.isObject()) {
            throw JsonFields.wrongType(path + ".function", "an object with a 'name'");
        }
        JsonNode name = function.get("name");
        if (name == null
                || !name.isTextual()
                || !FUNCTION_NAME.matcher(name.textValue()).matches()) {
            throw invalid(
                    "'" + path + ".function.name' must be 1 to 64 letters, digits, '_' or '-'.",
                    path + ".function.name");
        }
        ObjectNode fn = JsonNodeFactory.instance.objectNode();
        fn.put("name", name.textValue());
        JsonNode description = function.get("description");
        if (description != null && !description.isNull()) {
            if (!description.isTextual()) {
                throw JsonFields.wrongType(path + ".function.description", "a string");
            }
            fn.put("description", description.textValue());
        }
        JsonNode parameters = function.get("parameters");
        if (parameters != null && !parameters.isNull()) {
            if (!parameters.isObject()) {
                throw JsonFields.wrongType(path + ".function.parameters", "a JSON schema object");
            }
            fn.set("parameters", parameters);
        }
        JsonNode strict = function.get("strict");
        if (strict != null && !strict.isNull() && !strict.isBoolean()) {
            throw JsonFields.wrongType(path + ".function.strict", "a boolean");
        }
        if (strict != null && strict.booleanValue()) {
            checkStrict(parameters, name.textValue(), path + ".function.parameters");
        }
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        out.put("type", "function");
        out.set("function", fn);
        return out;
    }

    /**
     * A strict function promises arguments that validate against its parameters, so its schema is
     * held to what the grammar enforces, as a strict {@code response_format} is: a keyword the
     * grammar would not enforce is refused here rather than let through output that breaks it.
     */
    private static void checkStrict(JsonNode parameters, String name, String param) {
        String schema = parameters == null || parameters.isNull() ? "{\"type\":\"object\"}" : parameters.toString();
        try {
            io.kvasir.engine.grammar.SchemaCompiler.check(
                    io.kvasir.engine.grammar.ResponseFormat.jsonSchema(schema, true));
        } catch (io.kvasir.engine.grammar.SchemaException e) {
            throw invalid("Invalid schema for strict function '" + name + "': " + e.getMessage(), param);
        }
    }

    private static String namedFunction(JsonNode node) {
        String expected = "'tool_choice' must be 'none', 'auto', 'required' or"
                + " {\"type\": \"function\", \"function\": {\"name\": ...}}.";
        if (!node.isObject() || !"function".equals(node.path("type").asText(null))) {
            throw invalid(expected, "tool_choice");
        }
        JsonNode name = node.path("function").path("name");
        if (!name.isTextual()) {
            throw invalid(expected, "tool_choice");
        }
        return name.textValue();
    }

    private static ApiError.ApiException invalid(String message, String param) {
        return ApiError.invalid(message, param).toException();
    }
}
