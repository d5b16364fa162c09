package io.kvasir.http.openai.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.grammar.SchemaCompiler;
import io.kvasir.engine.grammar.SchemaException;
import io.kvasir.http.openai.OpenAiRequests;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A {@code POST /v1/responses} body, checked with every problem named in the Responses API's own
 * terms ({@code input[2].call_id}, {@code text.format.schema}), then rewritten as the equivalent
 * chat completions body ({@link #chatBody}) so that sampling, tools and the grammar path are read by
 * the same code as chat's and cannot drift from it. The conversation itself is not in that body:
 * the route joins the stored history and this input into the turns it sends.
 *
 * @param model              the model asked for
 * @param input              this request's items, canonical (see {@link InputItems})
 * @param instructions       the system turn for this response only (not carried to follow-ups); null: none
 * @param previousResponseId the stored response this one continues; null: a new conversation
 * @param store              whether to keep the response for follow-ups and GET
 * @param stream             answer as server-sent events
 * @param chatBody           the same request as a chat completions body, with a placeholder turn
 * @param echo               the request fields the response object repeats (tools, tool_choice, text, ...)
 * @param sessionHint        {@code metadata.session_id} or {@code user}: the KV-cache session a new
 *                           conversation runs in when the request names one; null otherwise
 * @param logprobs           {@code include} names {@code message.output_text.logprobs}: each output
 *                           text part carries its tokens' log-probabilities
 */
record ResponsesRequest(
        String model,
        ArrayNode input,
        String instructions,
        String previousResponseId,
        boolean store,
        boolean stream,
        ObjectNode chatBody,
        ObjectNode echo,
        String sessionHint,
        boolean logprobs) {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
    /** The kinds of {@code text.format} there are; anything else is a 400 naming the field. */
    private static final Set<String> FORMATS = Set.of("text", "json_object", "json_schema");
    /** The include value that asks for log-probabilities. */
    static final String LOGPROBS = "message.output_text.logprobs";
    /**
     * Every value OpenAI's {@code include} takes. Only {@link #LOGPROBS} changes anything here: the
     * others add detail to hosted tools, images and reasoning this server does not have, so asking for
     * them is harmless and accepted; any other value is a mistake and refused.
     */
    private static final Set<String> INCLUDABLE = Set.of(
            LOGPROBS,
            "reasoning.encrypted_content",
            "file_search_call.results",
            "web_search_call.results",
            "web_search_call.action.sources",
            "computer_call_output.output.image_url",
            "code_interpreter_call.outputs",
            "message.input_image.image_url");

    static ResponsesRequest read(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw InputItems.invalid("The request body must be a JSON object.", null);
        }
        String model = text(body, "model", true);
        ArrayNode input = InputItems.read(body.get("input"));
        String instructions = text(body, "instructions", false);
        String previous = text(body, "previous_response_id", false);
        boolean store = bool(body, "store", true);
        boolean stream = bool(body, "stream", false);
        if (bool(body, "background", false)) {
            throw InputItems.invalid("'background' responses are not supported.", "background");
        }
        if (present(body, "conversation")) {
            throw InputItems.invalid(
                    "'conversation' is not supported; continue a stored response with 'previous_response_id'.",
                    "conversation");
        }

        ObjectNode chat = NODES.objectNode();
        ObjectNode echo = NODES.objectNode();
        chat.put("model", model);
        chat.set(
                "messages",
                NODES.arrayNode().add(NODES.objectNode().put("role", "user").put("content", "")));
        chat.put("stream", stream);
        // seed and top_k are not Responses API fields; passed on as chat's, as extensions (vLLM does the same).
        for (String passed :
                new String[] {"temperature", "top_p", "parallel_tool_calls", "user", "metadata", "seed", "top_k"}) {
            if (present(body, passed)) {
                chat.set(passed, body.get(passed));
            }
        }
        JsonNode maxOutput = body.get("max_output_tokens");
        if (maxOutput != null && !maxOutput.isNull()) {
            if (!maxOutput.canConvertToInt() || !maxOutput.isIntegralNumber() || maxOutput.intValue() < 1) {
                throw InputItems.invalid("'max_output_tokens' must be a positive integer.", "max_output_tokens");
            }
            chat.put("max_completion_tokens", maxOutput.intValue());
            echo.put("max_output_tokens", maxOutput.intValue());
        } else {
            echo.putNull("max_output_tokens");
        }
        boolean logprobs = includesLogprobs(body.get("include"));
        int topLogprobs = topLogprobs(body.get("top_logprobs"));
        if (logprobs) {
            // Without the include, top_logprobs alone asks for nothing (as OpenAI): not passed on.
            chat.put("logprobs", true);
            chat.put("top_logprobs", topLogprobs);
        }
        echo.put("top_logprobs", topLogprobs);
        ArrayNode tools = tools(body.get("tools"), chat);
        echo.set("tools", tools);
        echo.set("tool_choice", toolChoice(body.get("tool_choice"), chat));
        echo.set("text", text(body.get("text"), chat));
        echo.put("parallel_tool_calls", bool(body, "parallel_tool_calls", true));
        echo.set("temperature", present(body, "temperature") ? body.get("temperature") : NODES.numberNode(1.0));
        echo.set("top_p", present(body, "top_p") ? body.get("top_p") : NODES.numberNode(1.0));
        echo.set("metadata", present(body, "metadata") ? body.get("metadata") : NODES.objectNode());
        echo.set("user", present(body, "user") ? body.get("user") : NODES.nullNode());
        String hint = body.path("metadata").path("session_id").isTextual()
                ? body.get("metadata").get("session_id").textValue()
                : body.path("user").isTextual() ? body.get("user").textValue() : null;
        return new ResponsesRequest(
                model,
                input,
                instructions,
                previous,
                store,
                stream,
                chat,
                echo,
                hint == null || hint.isBlank() ? null : hint,
                logprobs);
    }

    /** The {@code max_output_tokens} asked for; null: none (the model's context bounds the output). */
    Integer maxOutputTokens() {
        JsonNode value = echo.get("max_output_tokens");
        return value == null || value.isNull() ? null : value.intValue();
    }

    /** Whether {@code include} asks for log-probabilities; every value it names must be a known one. */
    private static boolean includesLogprobs(JsonNode include) {
        if (include == null || include.isNull()) {
            return false;
        }
        if (!include.isArray()) {
            throw InputItems.invalid("'include' must be an array of strings.", "include");
        }
        boolean logprobs = false;
        for (JsonNode value : include) {
            if (!value.isTextual() || !INCLUDABLE.contains(value.textValue())) {
                throw InputItems.invalid(
                        "'include' has an unknown value "
                                + (value.isTextual() ? "'" + value.textValue() + "'" : value.toString())
                                + "; known values are "
                                + String.join(", ", INCLUDABLE.stream().sorted().toList()) + ".",
                        "include");
            }
            logprobs |= value.textValue().equals(LOGPROBS);
        }
        return logprobs;
    }

    /** {@code top_logprobs}: alternatives per token, 0 to {@value OpenAiRequests#MAX_TOP_LOGPROBS}; 0 when absent. */
    private static int topLogprobs(JsonNode node) {
        if (node == null || node.isNull()) {
            return 0;
        }
        if (!node.isIntegralNumber()
                || !node.canConvertToInt()
                || node.intValue() < 0
                || node.intValue() > OpenAiRequests.MAX_TOP_LOGPROBS) {
            throw InputItems.invalid(
                    "'top_logprobs' must be an integer from 0 to " + OpenAiRequests.MAX_TOP_LOGPROBS + ", got " + node
                            + ".",
                    "top_logprobs");
        }
        return node.intValue();
    }

    /** Function tools in the Responses shape (name at the top level), rewritten to chat's nested shape. */
    private static ArrayNode tools(JsonNode node, ObjectNode chat) {
        ArrayNode echo = NODES.arrayNode();
        if (node == null || node.isNull()) {
            return echo;
        }
        if (!node.isArray()) {
            throw InputItems.invalid("'tools' must be an array of tool objects.", "tools");
        }
        ArrayNode chatTools = NODES.arrayNode();
        for (int i = 0; i < node.size(); i++) {
            JsonNode tool = node.get(i);
            String at = "tools[" + i + "]";
            if (!tool.isObject() || !tool.path("type").isTextual()) {
                throw InputItems.invalid("'" + at + "' must be an object with a 'type'.", at);
            }
            String type = tool.get("type").textValue();
            if (!type.equals("function")) {
                throw InputItems.invalid(
                        "The tool type '" + type + "' is not supported: only 'function' tools are.", at + ".type");
            }
            JsonNode name = tool.get("name");
            if (name == null
                    || !name.isTextual()
                    || !NAME.matcher(name.textValue()).matches()) {
                throw InputItems.invalid(
                        "'" + at + ".name' must be 1 to 64 letters, digits, '_' or '-'.", at + ".name");
            }
            ObjectNode fn = NODES.objectNode();
            fn.put("name", name.textValue());
            for (String field : new String[] {"description", "parameters", "strict"}) {
                if (present(tool, field)) {
                    fn.set(field, tool.get(field));
                }
            }
            if (present(tool, "parameters") && !tool.get("parameters").isObject()) {
                throw InputItems.invalid("'" + at + ".parameters' must be a JSON schema object.", at + ".parameters");
            }
            chatTools.add(NODES.objectNode().put("type", "function").set("function", fn));
            ObjectNode shown = NODES.objectNode().put("type", "function").put("name", name.textValue());
            shown.set("description", tool.path("description").isTextual() ? tool.get("description") : NODES.nullNode());
            shown.set("parameters", tool.path("parameters").isObject() ? tool.get("parameters") : NODES.nullNode());
            shown.put("strict", tool.path("strict").asBoolean(false));
            echo.add(shown);
        }
        if (!chatTools.isEmpty()) {
            chat.set("tools", chatTools);
        }
        return echo;
    }

    private static JsonNode toolChoice(JsonNode node, ObjectNode chat) {
        if (node == null || node.isNull()) {
            return NODES.textNode("auto");
        }
        if (node.isTextual()) {
            chat.set("tool_choice", node);
            return node;
        }
        if (node.isObject()
                && "function".equals(node.path("type").asText())
                && node.path("name").isTextual()) {
            chat.set(
                    "tool_choice",
                    NODES.objectNode()
                            .put("type", "function")
                            .set(
                                    "function",
                                    NODES.objectNode()
                                            .put("name", node.get("name").textValue())));
            return node;
        }
        String type = node.path("type").asText("");
        throw InputItems.invalid(
                type.isEmpty() || type.equals("function")
                        ? "'tool_choice' must be 'none', 'auto', 'required' or {\"type\": \"function\", \"name\": ...}."
                        : "'tool_choice' of type '" + type + "' is not supported: only function tools are.",
                "tool_choice");
    }

    /** {@code text.format}: free text, any JSON object, or JSON held to a schema (the grammar path). */
    private static JsonNode text(JsonNode node, ObjectNode chat) {
        ObjectNode plain = NODES.objectNode();
        plain.set("format", NODES.objectNode().put("type", "text"));
        if (node == null || node.isNull()) {
            return plain;
        }
        if (!node.isObject()) {
            throw InputItems.invalid("'text' must be an object.", "text");
        }
        JsonNode format = node.get("format");
        if (format == null || format.isNull()) {
            return plain;
        }
        String type = format.path("type").asText("");
        if (!format.isObject() || !FORMATS.contains(type)) {
            throw InputItems.invalid(
                    "'text.format.type' must be one of 'text', 'json_object', 'json_schema'.", "text.format.type");
        }
        switch (type) {
            case "json_object" -> chat.set("response_format", NODES.objectNode().put("type", "json_object"));
            case "json_schema" -> chat.set("response_format", jsonSchema(format));
            default -> {
                // free text
            }
        }
        ObjectNode echo = NODES.objectNode();
        echo.set("format", format);
        return echo;
    }

    private static ObjectNode jsonSchema(JsonNode format) {
        JsonNode name = format.get("name");
        if (name == null || !name.isTextual() || !NAME.matcher(name.textValue()).matches()) {
            throw InputItems.invalid(
                    "'text.format.name' must be 1 to 64 letters, digits, '_' or '-'.", "text.format.name");
        }
        JsonNode schema = format.get("schema");
        if (schema == null || !schema.isObject()) {
            throw InputItems.invalid("'text.format.schema' must be a JSON schema object.", "text.format.schema");
        }
        JsonNode strict = format.get("strict");
        if (strict != null && !strict.isNull() && !strict.isBoolean()) {
            throw InputItems.invalid("'text.format.strict' must be a boolean.", "text.format.strict");
        }
        try {
            SchemaCompiler.check(ResponseFormat.jsonSchema(schema.toString(), strict != null && strict.asBoolean()));
        } catch (SchemaException e) {
            throw InputItems.invalid(
                    "Invalid schema for text.format '" + name.textValue() + "': " + e.getMessage(),
                    "text.format.schema");
        }
        ObjectNode spec = NODES.objectNode();
        spec.set("name", name);
        spec.set("schema", schema);
        if (strict != null && !strict.isNull()) {
            spec.set("strict", strict);
        }
        return NODES.objectNode().put("type", "json_schema").set("json_schema", spec);
    }

    private static boolean present(JsonNode body, String field) {
        JsonNode node = body.get(field);
        return node != null && !node.isNull();
    }

    private static String text(JsonNode body, String field, boolean required) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            if (required) {
                throw InputItems.invalid("Missing required field '" + field + "'.", field);
            }
            return null;
        }
        if (!node.isTextual()) {
            throw InputItems.invalid("'" + field + "' must be a string.", field);
        }
        return node.textValue();
    }

    private static boolean bool(JsonNode body, String field, boolean defaultValue) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        if (!node.isBoolean()) {
            throw InputItems.invalid("'" + field + "' must be a boolean.", field);
        }
        return node.booleanValue();
    }
}
