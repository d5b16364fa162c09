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
import io.kvasir.http.connection.RequestArrival;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible routes under {@code /v1}: chat completions, completions, embeddings ({@link
 * EmbeddingsRoutes}) and models. Each
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
    private final EmbeddingsRoutes embeddings;
    private final long startedAt = System.currentTimeMillis() / 1000;

    public OpenAiRoutes(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.materializer = materializer;
        this.json = new RequestJson(settings.json());
        this.embeddings = new EmbeddingsRoutes(fabric, settings, materializer);
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
                path("embeddings", () -> post(() -> embeddings.route(caller))),
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
            // The server's own delay before the route (accepting, setting up, parsing the head), taken
            // before the body is read: a client slow to upload its body is not refused for that.
            java.time.Duration intake = RequestArrival.since(request);
            CompletionStage<HttpResponse> response = io.kvasir.http.StrictBody.of(request, settings, materializer)
                    .thenCompose(bytes -> {
                        JsonNode body = json.parse(bytes.toArray());
                        int n = Choices.count(body);
                        int bestOf = chat ? n : BestOf.count(body, n);
                        // A completion may carry several prompts: one request per prompt, n choices each.
                        List<JsonNode> bodies = chat ? List.of(body) : Choices.perPrompt(body, bestOf);
                        OpenAiRequests.Parsed parsed = null;
                        List<io.kvasir.fabric.api.GenerationRequest> all = new ArrayList<>();
                        List<io.kvasir.fabric.api.GenerationRequest> prompts = new ArrayList<>();
                        // Each prompt's own parse: an echo answers with its own prompt.
                        List<OpenAiRequests.Parsed> parsedAll = new ArrayList<>();
                        for (JsonNode one : bodies) {
                            parsed = chat ? OpenAiRequests.chat(one, headers) : OpenAiRequests.completion(one, headers);
                            var generation = forCaller(parsed, headers, caller);
                            String tierHint = header(request, "X-Kvasir-Tier");
                            if (tierHint != null) {
                                generation = generation.withTierHint(tierHint);
                            }
                            prompts.add(generation);
                            for (var r : Choices.requests(generation, n)) {
                                all.add(r);
                                parsedAll.add(parsed);
                            }
                        }
                        if (bestOf > n) {
                            return bestOf(parsedAll, prompts, n, bestOf);
                        }
                        if (all.size() > 1) {
                            return several(parsedAll, all, n);
                        }
                        var generation = all.getFirst();
                        var refused = fabric.refusedAtOnce(generation, intake);
                        if (refused.isPresent()) {
                            // Overloaded: answered without setting up the request's stream at all.
                            return CompletableFuture.<HttpResponse>failedFuture(refused.get());
                        }
                        return parsed.stream()
                                ? streamedOne(parsed, generation)
                                : whole(parsed, fabric.generate(generation));
                    })
                    .exceptionally(ErrorResponses::response);
            return completeWithFuture(response);
        });
    }

    /** The request on behalf of its caller: their scope, their tenant, its default workload class. */
    static io.kvasir.fabric.api.GenerationRequest forCaller(
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

    /**
     * One streamed generation. With legacy {@code echo} the stream starts with a chunk holding the
     * prompt, as OpenAI's does. The prompt's logprobs, when asked, come on a generation's finish
     * event, so they are computed first by a scoring run that generates nothing (max_tokens 0); the
     * generation then finds the prompt in the prefix cache, and its tokens stream after the echo.
     */
    private CompletionStage<HttpResponse> streamedOne(
            OpenAiRequests.Parsed parsed, io.kvasir.fabric.api.GenerationRequest generation) {
        if (!parsed.echo()) {
            return streamed(parsed, fabric.generate(generation), null);
        }
        if (!parsed.logprobs()) {
            return streamed(parsed, fabric.generate(generation), new Echo.Prefix(echoText(parsed, null), null));
        }
        var options = generation.promptOptions();
        var unscored = options == null || options.tokenIds() == null
                ? null
                : io.kvasir.fabric.api.PromptOptions.NONE.withTokenIds(options.tokenIds());
        return fabric.generate(generation.withMaxTokens(0))
                .completionTimeout(settings.requestTimeout())
                .runWith(Sink.seq(), materializer)
                .thenCompose(events -> {
                    GenerationEvent.Finished finished = events.stream()
                            .filter(e -> e instanceof GenerationEvent.Finished)
                            .map(e -> (GenerationEvent.Finished) e)
                            .findFirst()
                            .orElse(null);
                    if (finished == null || finished.reason() == FinishReason.ERROR || finished.prompt() == null) {
                        log.error("Scoring the prompt of a streamed echo for model {} failed", generation.model());
                        throw ApiError.internal().toException();
                    }
                    String text = echoText(parsed, finished.prompt());
                    var prefix = new Echo.Prefix(text, Echo.promptLogprobs(text, finished.prompt()));
                    return streamed(parsed, fabric.generate(generation.withPromptOptions(unscored)), prefix);
                });
    }

    private CompletionStage<HttpResponse> streamed(
            OpenAiRequests.Parsed parsed, Source<GenerationEvent, NotUsed> events, Echo.Prefix echo) {
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
                    .withEntity(HttpEntities.createChunked(EVENT_STREAM, body(answer, rest, echo)));
        });
    }

    private Source<akka.util.ByteString, NotUsed> body(
            Answer answer, Source<GenerationEvent, NotUsed> rest, Echo.Prefix echo) {
        if (echo == null) {
            return SseEncoding.encode(answer, rest, settings.sseKeepAlive());
        }
        return Source.single(SseEncoding.frame(answer.echoChunk(echo.text(), echo.logprobs())))
                .concat(SseEncoding.encode(
                        answer, rest, settings.sseKeepAlive(), echo.text().length()));
    }

    private CompletionStage<HttpResponse> whole(OpenAiRequests.Parsed parsed, Source<GenerationEvent, NotUsed> events) {
        // completionTimeout cancels the generation when the answer can no longer be delivered.
        CompletionStage<List<GenerationEvent>> collected =
                events.completionTimeout(settings.requestTimeout()).runWith(Sink.seq(), materializer);
        return collected.thenApply(all -> {
            try {
                Answered answered = answer(parsed, all, -1);
                return JsonResponses.ok(answered.body())
                        .addHeaders(AnswerHeaders.of(
                                answered.replica(), parsed.generation().sessionId(), answered.served()));
            } catch (ApiError.ApiException e) {
                return ErrorResponses.response(e);
            }
        });
    }

    /** One generation's answer body, and where it ran. */
    private record Answered(Object body, String replica, String served, int completionTokens, double logprob) {}

    /**
     * The answer to one generation's events; {@code topLimit} >= 0 trims each token's alternatives to
     * that many (best_of asks the engine for at least one, to rank by). An engine error is a 500.
     */
    private Answered answer(OpenAiRequests.Parsed parsed, List<GenerationEvent> all, int topLimit) {
        GenerationEvent.Started started = null;
        List<GenerationEvent.Token> tokens = new ArrayList<>();
        GenerationEvent.Finished finished = null;
        double sum = 0;
        for (GenerationEvent event : all) {
            switch (event) {
                case GenerationEvent.Started s -> started = s;
                case GenerationEvent.Token t -> {
                    sum += Float.isNaN(t.logprob()) ? 0 : t.logprob();
                    tokens.add(
                            topLimit >= 0
                                            && t.topLogprobs() != null
                                            && t.topLogprobs().size() > topLimit
                                    ? t.withTop(t.logprob(), t.topLogprobs().subList(0, topLimit))
                                    : t);
                }
                case GenerationEvent.Finished f -> finished = f;
            }
        }
        if (finished == null || finished.reason() == FinishReason.ERROR) {
            log.error(
                    "Generation {} for model {} ended {}",
                    started == null ? null : started.requestId(),
                    parsed.generation().model(),
                    finished == null ? "without a finish event" : "with an engine error");
            throw ApiError.internal().toException();
        }
        String served = started != null && started.model() != null
                ? started.model()
                : parsed.generation().model();
        Answer answer = Answer.of(served, parsed.generation().isChat(), parsed.logprobs(), false)
                .withTools(parsed.tools());
        Object body = answer.complete(tokens, finished);
        if (parsed.echo() && body instanceof OpenAiJson.TextCompletion text) {
            body = Echo.apply(text, echoText(parsed, finished.prompt()), finished.prompt());
        }
        return new Answered(body, started == null ? null : started.replica(), served, finished.completionTokens(), sum);
    }

    /** The prompt as echoed back: its text, or its token ids decoded. */
    private String echoText(OpenAiRequests.Parsed parsed, GenerationEvent.PromptResult scores) {
        var request = parsed.generation();
        String decoded = null;
        if (request.prompt() == null
                && request.promptOptions() != null
                && request.promptOptions().tokenIds() != null) {
            try {
                decoded = fabric.modelText(request.model())
                        .map(t -> t.text(request.promptOptions().tokenIds()))
                        .orElse(null);
            } catch (IllegalArgumentException e) {
                decoded = null; // ids this tokenizer cannot decode: the scored tokens' texts stand in
            }
        }
        return Echo.text(request.prompt(), decoded, scores);
    }

    /**
     * {@code best_of > n}: best_of candidates per prompt, each an ordinary generation (seeded ones
     * get {@code seed + i}, as n's choices do), ranked by their tokens' summed log-probabilities;
     * the n best of each prompt are the answer's choices. Usage counts every candidate's tokens,
     * which were all generated. Never streamed (the routes refuse that before coming here).
     */
    private CompletionStage<HttpResponse> bestOf(
            List<OpenAiRequests.Parsed> parsedAll,
            List<io.kvasir.fabric.api.GenerationRequest> prompts,
            int n,
            int bestOf) {
        OpenAiRequests.Parsed parsed = parsedAll.getFirst();
        int asked = parsed.logprobs() ? parsed.legacy().topLogprobs() : 0;
        List<List<java.util.concurrent.CompletableFuture<List<GenerationEvent>>>> runs = new ArrayList<>();
        for (var prompt : prompts) {
            // Ranking needs each token's log-probability, which the engine computes only when asked.
            var scored = prompt.withSampling(prompt.sampling().withTopLogprobs(Math.max(1, asked)));
            runs.add(Choices.requests(scored, bestOf).stream()
                    .map(r -> fabric.generate(r)
                            .completionTimeout(settings.requestTimeout())
                            .runWith(Sink.seq(), materializer)
                            .toCompletableFuture())
                    .toList());
        }
        var every = runs.stream().flatMap(List::stream).toArray(java.util.concurrent.CompletableFuture[]::new);
        return java.util.concurrent.CompletableFuture.allOf(every).thenApply(done -> {
            try {
                List<Object> chosen = new ArrayList<>();
                int completionTokens = 0;
                Answered first = null;
                for (int p = 0; p < runs.size(); p++) {
                    List<Answered> answered = new ArrayList<>();
                    for (var c : runs.get(p)) {
                        Answered a = answer(parsedAll.get(p * n), c.join(), asked);
                        answered.add(a);
                        completionTokens += a.completionTokens();
                    }
                    for (int i : BestOf.rank(
                            answered.stream().mapToDouble(Answered::logprob).toArray(), n)) {
                        chosen.add(answered.get(i).body());
                    }
                    first = first == null ? answered.getFirst() : first;
                }
                Object merged = BestOf.withCompletionTokens(Choices.merge(chosen, n), completionTokens);
                return JsonResponses.ok(merged)
                        .addHeaders(AnswerHeaders.of(
                                first.replica(), parsed.generation().sessionId(), first.served()));
            } catch (ApiError.ApiException e) {
                return ErrorResponses.response(e);
            }
        });
    }

    /**
     * {@code n > 1}: each generation answered as if alone, then the answers merged ({@link
     * Choices}). A refusal of any one is the answer.
     */
    private CompletionStage<HttpResponse> several(
            List<OpenAiRequests.Parsed> parsedAll, List<io.kvasir.fabric.api.GenerationRequest> requests, int n) {
        OpenAiRequests.Parsed parsed = parsedAll.getFirst();
        List<java.util.concurrent.CompletableFuture<HttpResponse>> answers = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            OpenAiRequests.Parsed own = parsedAll.get(i);
            answers.add(
                    (own.stream() ? streamedOne(own, requests.get(i)) : whole(own, fabric.generate(requests.get(i))))
                            .toCompletableFuture());
        }
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
                .orElseGet(() -> complete(ErrorResponses.response(ApiError.modelNotFound(id))));
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
