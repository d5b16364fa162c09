package io.kvasir.http.openai;

import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.api.PromptOptions;
import io.kvasir.http.ApiError;
import io.kvasir.http.Caller;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.JsonMediaType;
import io.kvasir.http.JsonResponses;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/embeddings}: the served model's final hidden states over each input, pooled into
 * one unit vector (mean over the positions, or the last position's when the model's file says so;
 * see openai-api.md). Each input is an ordinary request to the fabric that generates nothing
 * ({@code max_tokens} 0, {@link PromptOptions#embed}): routed to a replica of the model and
 * admitted like any other, and its vector comes back on the request's finish. Inputs of one request
 * run a few at a time, in order.
 */
public final class EmbeddingsRoutes extends AllDirectives {

    private static final Logger log = LoggerFactory.getLogger(EmbeddingsRoutes.class);

    /** OpenAI's own limit on inputs per request. */
    static final int MAX_INPUTS = 2048;
    /** Inputs of one request in flight at once: enough to batch, few enough to leave room for others. */
    private static final int PARALLEL = 8;

    private final Fabric fabric;
    private final HttpSettings settings;
    private final Materializer materializer;
    private final RequestJson json;

    public EmbeddingsRoutes(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.materializer = materializer;
        this.json = new RequestJson(settings.json());
    }

    /** The route for {@code POST /v1/embeddings}, for one caller. */
    public Route route(Caller caller) {
        return extractRequest(request -> {
            if (!JsonMediaType.isJson(request.entity().getContentType())) {
                return complete(ErrorResponses.response(ApiError.unsupportedMediaType(
                        "Send the request body as JSON with 'Content-Type: application/json' (got '"
                                + JsonMediaType.describe(request.entity().getContentType()) + "').")));
            }
            CompletionStage<HttpResponse> response = io.kvasir.http.StrictBody.of(request, settings, materializer)
                    .thenCompose(bytes -> embed(json.parse(bytes.toArray()), request, caller))
                    .exceptionally(ErrorResponses::response);
            return completeWithFuture(response);
        });
    }

    /** A parsed embeddings request. */
    record Parsed(String model, List<CompletionPrompts.Prompt> inputs, boolean base64, Integer dimensions) {}

    /** Reads and checks the body; every problem a 400 naming its field. */
    static Parsed parse(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiError.invalid("The request body must be a JSON object.", null)
                    .toException();
        }
        JsonFields f = new JsonFields(body);
        String model = f.requiredString("model");
        JsonNode input = f.raw("input");
        if (input == null) {
            throw ApiError.invalid("Missing required field 'input'.", "input").toException();
        }
        List<CompletionPrompts.Prompt> inputs;
        try {
            inputs = CompletionPrompts.read(input);
        } catch (ApiError.ApiException e) {
            // The same shapes as a completion's prompt; the message names the field this request has.
            throw ApiError.invalid(e.error().message().replace("prompt", "input"), "input")
                    .toException();
        }
        if (inputs.size() > MAX_INPUTS) {
            throw ApiError.invalid(
                            "'input' holds " + inputs.size() + " inputs; at most " + MAX_INPUTS + " are allowed.",
                            "input")
                    .toException();
        }
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).text() != null && inputs.get(i).text().isEmpty()) {
                throw ApiError.invalid(
                                inputs.size() == 1
                                        ? "'input' must not be an empty string."
                                        : "'input[" + i + "]' must not be an empty string.",
                                "input")
                        .toException();
            }
        }
        String format = f.string("encoding_format");
        if (format != null && !format.equals("float") && !format.equals("base64")) {
            throw ApiError.invalid(
                            "'encoding_format' must be 'float' or 'base64', got '" + format + "'.", "encoding_format")
                    .toException();
        }
        Integer dimensions = f.integer("dimensions");
        if (dimensions != null && dimensions < 1) {
            throw ApiError.invalid("'dimensions' must be at least 1, got " + dimensions + ".", "dimensions")
                    .toException();
        }
        return new Parsed(model, inputs, "base64".equals(format), dimensions);
    }

    private CompletionStage<HttpResponse> embed(JsonNode body, HttpRequest http, Caller caller) {
        Parsed parsed = parse(body);
        OpenAiRequests.Headers headers = new OpenAiRequests.Headers(
                null, http.getHeader("X-Kvasir-Workload").map(h -> h.value()).orElse(null));
        List<GenerationRequest> requests = new ArrayList<>(parsed.inputs().size());
        for (CompletionPrompts.Prompt input : parsed.inputs()) {
            GenerationRequest request = new GenerationRequest(
                            parsed.model(),
                            null,
                            null,
                            input.text(),
                            SamplingParams.greedy(),
                            0,
                            List.of(),
                            workload(headers),
                            null)
                    .withPromptOptions(
                            PromptOptions.NONE.withTokenIds(input.tokenIds()).withEmbed(true));
            requests.add(
                    OpenAiRoutes.forCaller(new OpenAiRequests.Parsed(request, false, false, false), headers, caller));
        }
        return Source.from(requests)
                .mapAsync(
                        PARALLEL,
                        r -> fabric.generate(r)
                                .completionTimeout(settings.requestTimeout())
                                .runWith(Sink.seq(), materializer))
                .runWith(Sink.seq(), materializer)
                .thenApply(all -> answer(parsed, all));
    }

    private static GenerationRequest.Workload workload(OpenAiRequests.Headers headers) {
        String w = headers.workload();
        return w != null && w.strip().equalsIgnoreCase("batch")
                ? GenerationRequest.Workload.BATCH
                : GenerationRequest.Workload.INTERACTIVE;
    }

    private HttpResponse answer(Parsed parsed, List<List<GenerationEvent>> all) {
        List<Map<String, Object>> data = new ArrayList<>(all.size());
        int promptTokens = 0;
        String served = parsed.model();
        for (int i = 0; i < all.size(); i++) {
            GenerationEvent.Finished finished = null;
            for (GenerationEvent e : all.get(i)) {
                if (e instanceof GenerationEvent.Finished f) {
                    finished = f;
                } else if (e instanceof GenerationEvent.Started s && s.model() != null) {
                    served = s.model();
                }
            }
            float[] vector = finished == null || finished.reason() == FinishReason.ERROR || finished.prompt() == null
                    ? null
                    : finished.prompt().embedding();
            if (vector == null) {
                log.error("Embedding {} of {} for model {} came back without a vector", i, all.size(), parsed.model());
                return ErrorResponses.response(ApiError.internal());
            }
            if (parsed.dimensions() != null && parsed.dimensions() != vector.length) {
                return ErrorResponses.response(ApiError.invalid(
                        "'dimensions' is not supported: model '" + parsed.model() + "' gives " + vector.length
                                + "-dimensional embeddings, which cannot be shortened; leave 'dimensions' out.",
                        "dimensions"));
            }
            promptTokens += finished.promptTokens();
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("object", "embedding");
            item.put("index", i);
            item.put("embedding", parsed.base64() ? base64(vector) : vector);
            data.add(item);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("object", "list");
        out.put("data", data);
        out.put("model", served);
        out.put("usage", Map.of("prompt_tokens", promptTokens, "total_tokens", promptTokens));
        return JsonResponses.ok(out);
    }

    /** Little-endian float32s, base64: what OpenAI's clients decode (numpy's frombuffer, float32). */
    static String base64(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
            bytes.putFloat(v);
        }
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
