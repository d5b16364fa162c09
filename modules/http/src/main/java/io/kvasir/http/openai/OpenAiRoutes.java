package io.kvasir.http.openai;

import akka.NotUsed;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.japi.Pair;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.ApiError;
import io.kvasir.http.Caller;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.JsonMediaType;
import io.kvasir.http.JsonResponses;
import io.kvasir.http.UnreadBody;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible routes under {@code /v1}: chat completions, completions and models. Each
 * generation is the fabric's source run once: streamed as SSE (the response waits for the fabric to
 * admit the request, so a refusal is a proper status code) or collected into one JSON answer.
 */
public final class OpenAiRoutes extends AllDirectives {

    private static final Logger log = LoggerFactory.getLogger(OpenAiRoutes.class);
    private static final akka.http.javadsl.model.ContentType EVENT_STREAM =
            MediaTypes.TEXT_EVENT_STREAM.toContentType();

    private final Fabric fabric;
    private final HttpSettings settings;
    private final Materializer materializer;
    private final RequestJson json;
    private final long startedAt = System.currentTimeMillis() / 1000;

    public OpenAiRoutes(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.materializer = materializer;
        this.json = new RequestJson(settings.json());
    }

    /** Routes relative to {@code /v1}, in the shared scope. */
    public Route route() {
        return scoped(Caller.ANONYMOUS);
    }

    /**
     * Routes relative to {@code /v1} for one caller (as their API key says): their sessions and
     * prefix-cache blocks are their scope's alone, and a tenant sees only its models.
     */
    public Route scoped(Caller caller) {
        return concat(
                path(PathMatchers.segment("chat").slash("completions"), () -> post(() -> generation(true, caller))),
                path("completions", () -> post(() -> generation(false, caller))),
                pathPrefix(
                        "models",
                        () -> UnreadBody.discardedBefore(() -> concat(
                                pathEndOrSingleSlash(() -> get(() -> listModels(caller))),
                                path(
                                        PathMatchers.remaining(),
                                        // Model ids may hold a slash, which clients send encoded.
                                        id -> get(() -> model(caller, decode(id))))))));
    }

    private Route generation(boolean chat, Caller caller) {
        return extractRequest(request -> {
            if (!JsonMediaType.isJson(request.entity().getContentType())) {
                return complete(ErrorResponses.response(ApiError.unsupportedMediaType(
                        "Send the request body as JSON with 'Content-Type: application/json' (got '"
                                + JsonMediaType.describe(request.entity().getContentType()) + "').")));
            }
            OpenAiRequests.Headers headers =
                    new OpenAiRequests.Headers(header(request, "X-Session-Id"), header(request, "X-Kvasir-Workload"));
            OptionalLong declared = request.entity().getContentLengthOption();
            if (declared.isPresent() && declared.getAsLong() > settings.maxRequestBytes()) {
                return complete(ErrorResponses.response(ErrorResponses.tooLarge(settings.maxRequestBytes())));
            }
            CompletionStage<HttpResponse> response = request.entity()
                    .toStrict(settings.requestTimeout().toMillis(), settings.maxRequestBytes(), materializer)
                    .thenCompose(strict -> {
                        JsonNode body = json.parse(strict.getData().toArray());
                        int n = Choices.count(body);
                        // A completion may carry several prompts: one request per prompt, n choices each.
                        List<JsonNode> bodies = chat ? List.of(body) : Choices.perPrompt(body, n);
                        OpenAiRequests.Parsed parsed = null;
                        List<io.kvasir.fabric.api.GenerationRequest> all = new ArrayList<>();
                        for (JsonNode one : bodies) {
                            parsed = chat ? OpenAiRequests.chat(one, headers) : OpenAiRequests.completion(one, headers);
                            var generation = forCaller(parsed, headers, caller);
                            String tierHint = header(request, "X-Kvasir-Tier");
                            if (tierHint != null) {
                                generation = generation.withTierHint(tierHint);
                            }
                            all.addAll(Choices.requests(generation, n));
                        }
                        if (all.size() > 1) {
                            return several(parsed, all, n);
                        }
                        var generation = all.getFirst();
                        Source<GenerationEvent, NotUsed> events = fabric.generate(generation);
                        return parsed.stream() ? streamed(parsed, events) : whole(parsed, events);
                    })
                    .exceptionally(ErrorResponses::response);
            return completeWithFuture(response);
        });
    }

    /** The request on behalf of its caller: their scope, their tenant, its default workload class. */
    private static io.kvasir.fabric.api.GenerationRequest forCaller(
            OpenAiRequests.Parsed parsed, OpenAiRequests.Headers headers, Caller caller) {
        var request = parsed.generation();
        if (caller.tenant() != null) {
            request = request.forTenant(caller.tenant().name(), caller.scope());
            if (headers.workload() == null) {
                request = request.withWorkload(caller.tenant().workload());
            }
        } else {
            // Only a tenant's key makes a tenant: a name in the body (OpenAI's "user") never does.
            request = request.forTenant(null, caller.scope());
        }
        return request;
    }

    private CompletionStage<HttpResponse> streamed(
            OpenAiRequests.Parsed parsed, Source<GenerationEvent, NotUsed> events) {
        // Wait for the first event only: it tells admission (or refusal) before the 200 goes out.
        // The tail is the fabric's own stream, not a copy: its demand and cancellation reach the engine.
        // A request still not admitted when the client has been answered with a timeout is cancelled.
        CompletionStage<Pair<List<GenerationEvent>, Source<GenerationEvent, NotUsed>>> admitted = events.initialTimeout(
                        settings.requestTimeout())
                .prefixAndTail(1)
                .runWith(Sink.head(), materializer);
        return admitted.thenApply(pair -> {
            List<GenerationEvent> first = pair.first();
            Source<GenerationEvent, NotUsed> rest = pair.second();
            String replica = null;
            String served = parsed.generation().model();
            if (!first.isEmpty()) {
                if (first.getFirst() instanceof GenerationEvent.Started started) {
                    replica = started.replica();
                    served = started.model() != null ? started.model() : served;
                } else {
                    rest = Source.from(first).concat(rest);
                }
            }
            Answer answer = Answer.of(served, parsed.generation().isChat(), parsed.logprobs(), parsed.includeUsage())
                    .withTools(parsed.tools());
            return HttpResponse.create()
                    .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                    .addHeaders(AnswerHeaders.of(replica, parsed.generation().sessionId(), served))
                    .withEntity(HttpEntities.createChunked(
                            EVENT_STREAM, SseEncoding.encode(answer, rest, settings.sseKeepAlive())));
        });
    }

    private CompletionStage<HttpResponse> whole(OpenAiRequests.Parsed parsed, Source<GenerationEvent, NotUsed> events) {
        // completionTimeout cancels the generation when the answer can no longer be delivered.
        CompletionStage<List<GenerationEvent>> collected =
                events.completionTimeout(settings.requestTimeout()).runWith(Sink.seq(), materializer);
        return collected.thenApply(all -> {
            GenerationEvent.Started started = null;
            List<GenerationEvent.Token> tokens = new ArrayList<>();
            GenerationEvent.Finished finished = null;
            for (GenerationEvent event : all) {
                switch (event) {
                    case GenerationEvent.Started s -> started = s;
                    case GenerationEvent.Token t -> tokens.add(t);
                    case GenerationEvent.Finished f -> finished = f;
                }
            }
            if (finished == null || finished.reason() == FinishReason.ERROR) {
                log.error(
                        "Generation {} for model {} ended {}",
                        started == null ? null : started.requestId(),
                        parsed.generation().model(),
                        finished == null ? "without a finish event" : "with an engine error");
                return ErrorResponses.response(ApiError.internal());
            }
            String served = started != null && started.model() != null
                    ? started.model()
                    : parsed.generation().model();
            Answer answer = Answer.of(served, parsed.generation().isChat(), parsed.logprobs(), false)
                    .withTools(parsed.tools());
            return JsonResponses.ok(answer.complete(tokens, finished))
                    .addHeaders(AnswerHeaders.of(
                            started == null ? null : started.replica(),
                            parsed.generation().sessionId(),
                            served));
        });
    }

    /**
     * {@code n > 1}: each generation answered as if alone, then the answers merged ({@link
     * Choices}). A refusal of any one is the answer.
     */
    private CompletionStage<HttpResponse> several(
            OpenAiRequests.Parsed parsed, List<io.kvasir.fabric.api.GenerationRequest> requests, int n) {
        List<java.util.concurrent.CompletableFuture<HttpResponse>> answers = requests.stream()
                .map(r -> {
                    Source<GenerationEvent, NotUsed> events = fabric.generate(r);
                    return (parsed.stream() ? streamed(parsed, events) : whole(parsed, events)).toCompletableFuture();
                })
                .toList();
        return java.util.concurrent.CompletableFuture.allOf(
                        answers.toArray(java.util.concurrent.CompletableFuture[]::new))
                .thenCompose(ignored -> {
                    List<HttpResponse> all = answers.stream()
                            .map(java.util.concurrent.CompletableFuture::join)
                            .toList();
                    HttpResponse first = all.getFirst();
                    for (HttpResponse r : all) {
                        if (r.status().intValue() != 200) {
                            all.forEach(other -> other.discardEntityBytes(materializer));
                            return java.util.concurrent.CompletableFuture.completedFuture(r);
                        }
                    }
                    if (parsed.stream()) {
                        List<Source<akka.util.ByteString, NotUsed>> bodies = all.stream()
                                .map(r -> r.entity().getDataBytes().mapMaterializedValue(m -> NotUsed.getInstance()))
                                .toList();
                        return java.util.concurrent.CompletableFuture.completedFuture(
                                first.withEntity(HttpEntities.createChunked(
                                        EVENT_STREAM, Choices.streamed(bodies, n, parsed.includeUsage()))));
                    }
                    List<CompletionStage<Object>> bodies = all.stream()
                            .map(r -> r.entity()
                                    .toStrict(settings.requestTimeout().toMillis(), materializer)
                                    .<Object>thenApply(e -> {
                                        try {
                                            return OpenAiJson.MAPPER.readTree(
                                                    e.getData().toArray());
                                        } catch (java.io.IOException ex) {
                                            throw new java.io.UncheckedIOException(ex);
                                        }
                                    }))
                            .toList();
                    return java.util.concurrent.CompletableFuture.allOf(bodies.stream()
                                    .map(CompletionStage::toCompletableFuture)
                                    .toArray(java.util.concurrent.CompletableFuture[]::new))
                            .thenApply(done -> first.withEntity(JsonResponses.ok(Choices.merge(
                                            bodies.stream()
                                                    .map(b -> b.toCompletableFuture()
                                                            .join())
                                                    .toList(),
                                            n))
                                    .entity()));
                });
    }

    private Route listModels(Caller caller) {
        List<OpenAiJson.ModelEntry> entries = fabric.models().stream()
                .filter(m -> caller.mayUse(m.id()))
                .map(this::entry)
                .toList();
        return complete(JsonResponses.ok(new OpenAiJson.ModelList("list", entries)));
    }

    private Route model(Caller caller, String id) {
        return fabric.models().stream()
                .filter(m -> m.id().equals(id) && caller.mayUse(id))
                .findFirst()
                .map(m -> complete(JsonResponses.ok(entry(m))))
                .orElseGet(() -> complete(ErrorResponses.response(
                        ApiError.notFound("The model '" + id + "' does not exist.", "model_not_found"))));
    }

    private OpenAiJson.ModelEntry entry(Fabric.ModelDescriptor m) {
        return new OpenAiJson.ModelEntry(m.id(), "model", startedAt, m.ownedBy(), m.maxContext());
    }

    private static String decode(String pathSegment) {
        return URLDecoder.decode(pathSegment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String header(HttpRequest request, String name) {
        return request.getHeader(name).map(HttpHeader::value).orElse(null);
    }
}
