package io.kvasir.http.openai;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.ModelText;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplateException;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.ApiError;
import io.kvasir.http.Caller;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.JsonMediaType;
import io.kvasir.http.JsonResponses;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * {@code POST /tokenize} and {@code POST /detokenize} in vLLM's shapes, at the root as vLLM serves
 * them. A prompt is encoded as a completion encodes it ({@code add_special_tokens}, default true:
 * BOS when the model wants one); messages are rendered with the model's chat template as a chat
 * completion renders them ({@code add_generation_prompt}, default true). The gateway reads the
 * model's tokenizer from its file itself ({@link Fabric#modelText}): no replica is asked, so these
 * answer even while every replica is busy.
 */
public final class TokenizeRoutes extends AllDirectives {

    private final Fabric fabric;
    private final HttpSettings settings;
    private final Materializer materializer;
    private final RequestJson json;

    public TokenizeRoutes(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.materializer = materializer;
        this.json = new RequestJson(settings.json());
    }

    /** What is left of {@code /tokenize} once the path is matched, for one caller (a tenant reaches only its models). */
    public Route tokenize(Caller caller) {
        return pathEnd(() -> post(() -> body(b -> tokenize(b, caller))));
    }

    /** As {@link #tokenize(Caller)}, for {@code /detokenize}. */
    public Route detokenize(Caller caller) {
        return pathEnd(() -> post(() -> body(b -> detokenize(b, caller))));
    }

    private Route body(java.util.function.Function<JsonNode, Object> answer) {
        return extractRequest(request -> {
            if (!JsonMediaType.isJson(request.entity().getContentType())) {
                return complete(ErrorResponses.response(ApiError.unsupportedMediaType(
                        "Send the request body as JSON with 'Content-Type: application/json' (got '"
                                + JsonMediaType.describe(request.entity().getContentType()) + "').")));
            }
            CompletionStage<HttpResponse> response = io.kvasir.http.StrictBody.of(request, settings, materializer)
                    .thenApply(bytes -> JsonResponses.ok(answer.apply(json.parse(bytes.toArray()))))
                    .exceptionally(ErrorResponses::response);
            return completeWithFuture(response);
        });
    }

    private Object tokenize(JsonNode body, Caller caller) {
        JsonFields f = root(body);
        String model = f.requiredString("model");
        ModelText text = text(model, caller);
        int[] tokens;
        if (f.has("messages")) {
            if (f.has("prompt")) {
                throw ApiError.invalid("Give either 'prompt' or 'messages', not both.", "prompt")
                        .toException();
            }
            List<ChatMessage> messages = OpenAiRequests.messages(f.raw("messages"));
            String tools = ToolsField.read(f).json();
            try {
                tokens = text.chat(messages, tools, f.bool("add_generation_prompt", true));
            } catch (ChatTemplateException e) {
                throw ApiError.invalid("The messages cannot be rendered: " + e.getMessage(), "messages")
                        .toException();
            }
        } else {
            String prompt = f.string("prompt");
            if (prompt == null) {
                throw ApiError.invalid("Give 'prompt' (a string) or 'messages'.", "prompt")
                        .toException();
            }
            tokens = text.prompt(prompt, f.bool("add_special_tokens", true));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("count", tokens.length);
        out.put("max_model_len", maxContext(model));
        out.put("tokens", tokens);
        // vLLM's field: each token's own text, when asked for.
        out.put("token_strs", f.bool("return_token_strs", false) ? text.pieces(tokens) : null);
        return out;
    }

    private Object detokenize(JsonNode body, Caller caller) {
        JsonFields f = root(body);
        String model = f.requiredString("model");
        ModelText text = text(model, caller);
        JsonNode node = f.raw("tokens");
        if (node == null) {
            throw ApiError.invalid("Missing required field 'tokens'.", "tokens").toException();
        }
        if (!node.isArray()) {
            throw JsonFields.wrongType("tokens", "an array of token ids");
        }
        int[] ids = new int[node.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = node.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt()) {
                throw ApiError.invalid("'tokens[" + i + "]' must be a token id (an integer).", "tokens")
                        .toException();
            }
            ids[i] = id.intValue();
        }
        try {
            return Map.of("prompt", text.text(ids));
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid("'tokens': " + e.getMessage() + ".", "tokens")
                    .toException();
        }
    }

    private ModelText text(String model, Caller caller) {
        if (!caller.mayUse(model) || fabric.models().stream().noneMatch(m -> m.id().equals(model))) {
            throw ApiError.modelNotFound(model).toException();
        }
        return fabric.modelText(model)
                .orElseThrow(() -> ApiError.invalid(
                                "The model '" + model + "' has no tokenizer this server can read (a tiered, simulated"
                                        + " or external model).",
                                "model")
                        .toException());
    }

    private int maxContext(String model) {
        return fabric.models().stream()
                .filter(m -> m.id().equals(model))
                .mapToInt(Fabric.ModelDescriptor::maxContext)
                .findFirst()
                .orElse(0);
    }

    private static JsonFields root(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw ApiError.invalid("The request body must be a JSON object.", null)
                    .toException();
        }
        return new JsonFields(node);
    }
}
