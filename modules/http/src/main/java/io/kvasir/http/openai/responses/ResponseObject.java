package io.kvasir.http.openai.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.openai.tools.ParsedToolCalls;
import java.util.List;

/**
 * One response object of the Responses API ({@code "object": "response"}): its identity and the
 * request fields it repeats are fixed when the request is read; {@link #inProgress} and
 * {@link #finished} write it at the start and at the end of the answer. Built as a JSON tree (not
 * records): the object is mostly echoed request fields whose shape the client chose.
 */
final class ResponseObject {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final String id;
    private final long createdAt;
    private final String model;
    private final ResponsesRequest request;

    ResponseObject(String id, long createdAt, String model, ResponsesRequest request) {
        this.id = id;
        this.createdAt = createdAt;
        this.model = model;
        this.request = request;
    }

    String id() {
        return id;
    }

    long createdAt() {
        return createdAt;
    }

    /** The response before any output: what {@code response.created} carries. */
    ObjectNode inProgress() {
        return base("in_progress", NODES.arrayNode(), null, NODES.nullNode());
    }

    /**
     * The finished response. {@code status} is {@code completed}, or {@code incomplete} when the
     * output was cut at {@code max_output_tokens} (or the model's context).
     */
    ObjectNode finished(ArrayNode output, GenerationEvent.Finished finished) {
        boolean cut = finished.reason() == FinishReason.LENGTH;
        return base(cut ? "incomplete" : "completed", output, cut ? "max_output_tokens" : null, usage(finished));
    }

    /** The response of a stream that failed after it began. */
    ObjectNode failed(ArrayNode output, String code, String message) {
        ObjectNode response = base("failed", output, null, NODES.nullNode());
        response.set("error", NODES.objectNode().put("code", code).put("message", message));
        return response;
    }

    private ObjectNode base(String status, ArrayNode output, String incompleteReason, JsonNode usage) {
        ObjectNode r = NODES.objectNode();
        r.put("id", id);
        r.put("object", "response");
        r.put("created_at", createdAt);
        r.put("status", status);
        r.putNull("error");
        if (incompleteReason == null) {
            r.putNull("incomplete_details");
        } else {
            r.set("incomplete_details", NODES.objectNode().put("reason", incompleteReason));
        }
        if (request.instructions() == null) {
            r.putNull("instructions");
        } else {
            r.put("instructions", request.instructions());
        }
        r.set("max_output_tokens", request.echo().get("max_output_tokens"));
        r.put("model", model);
        r.set("output", output);
        r.set("parallel_tool_calls", request.echo().get("parallel_tool_calls"));
        if (request.previousResponseId() == null) {
            r.putNull("previous_response_id");
        } else {
            r.put("previous_response_id", request.previousResponseId());
        }
        r.put("store", request.store());
        r.set("temperature", request.echo().get("temperature"));
        r.set("text", request.echo().get("text"));
        r.set("tool_choice", request.echo().get("tool_choice"));
        r.set("tools", request.echo().get("tools"));
        r.set("top_logprobs", request.echo().get("top_logprobs"));
        r.set("top_p", request.echo().get("top_p"));
        r.put("truncation", "disabled");
        r.set("usage", usage);
        r.set("user", request.echo().get("user"));
        r.set("metadata", request.echo().get("metadata"));
        return r;
    }

    private static ObjectNode usage(GenerationEvent.Finished finished) {
        ObjectNode usage = NODES.objectNode();
        usage.put("input_tokens", finished.promptTokens());
        usage.set(
                "input_tokens_details",
                NODES.objectNode().put("cached_tokens", finished.cachedTokens()).put("cache_write_tokens", 0));
        usage.put("output_tokens", finished.completionTokens());
        usage.set("output_tokens_details", NODES.objectNode().put("reasoning_tokens", 0));
        usage.put("total_tokens", finished.promptTokens() + finished.completionTokens());
        return usage;
    }

    // Output items

    /** An assistant message item with one text part; {@code status} in_progress or completed. */
    static ObjectNode message(String itemId, String text, String status) {
        return message(itemId, text, status, NODES.arrayNode());
    }

    /** The same, its text part carrying {@code logprobs} (empty when they were not asked for). */
    static ObjectNode message(String itemId, String text, String status, ArrayNode logprobs) {
        ObjectNode item = NODES.objectNode();
        item.put("type", "message");
        item.put("id", itemId);
        item.put("status", status);
        item.put("role", "assistant");
        ArrayNode content = NODES.arrayNode();
        if (text != null) {
            content.add(outputText(text, logprobs));
        }
        item.set("content", content);
        return item;
    }

    static ObjectNode outputText(String text, ArrayNode logprobs) {
        ObjectNode part = NODES.objectNode();
        part.put("type", "output_text");
        part.put("text", text);
        part.set("annotations", NODES.arrayNode());
        part.set("logprobs", logprobs);
        return part;
    }

    static ObjectNode functionCall(String itemId, String callId, String name, String arguments, String status) {
        ObjectNode item = NODES.objectNode();
        item.put("type", "function_call");
        item.put("id", itemId);
        item.put("call_id", callId);
        item.put("name", name);
        item.put("arguments", arguments);
        item.put("status", status);
        return item;
    }

    /**
     * The output items of a whole answer: its text as one message (when there is text), then one
     * function_call item per call the model made.
     *
     * @param logprobs every token's log-probability; null when they were not asked for
     */
    static ArrayNode output(ParsedToolCalls parsed, boolean cut, TextLogprobs logprobs) {
        ArrayNode output = NODES.arrayNode();
        String status = cut ? "incomplete" : "completed";
        if (parsed.content() != null && !parsed.content().isEmpty()) {
            String text = parsed.content();
            output.add(message(
                    Ids.message(), text, status, logprobs == null ? NODES.arrayNode() : logprobs.take(text.length())));
        }
        List<ParsedToolCalls.Call> calls = parsed.calls();
        for (ParsedToolCalls.Call call : calls) {
            output.add(functionCall(Ids.functionCall(), Ids.call(), call.name(), call.arguments(), status));
        }
        if (output.isEmpty()) {
            output.add(message(Ids.message(), "", status, logprobs == null ? NODES.arrayNode() : logprobs.take(0)));
        }
        return output;
    }
}
