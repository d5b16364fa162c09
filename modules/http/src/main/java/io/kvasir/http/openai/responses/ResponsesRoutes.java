package io.kvasir.http.openai.responses;

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
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.responses.ResponseStore;
import io.kvasir.fabric.responses.StoredResponse;
import io.kvasir.http.ApiError;
import io.kvasir.http.Caller;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.JsonMediaType;
import io.kvasir.http.JsonResponses;
import io.kvasir.http.UnreadBody;
import io.kvasir.http.openai.OpenAiRequests;
import io.kvasir.http.openai.RequestJson;
import io.kvasir.http.openai.tools.ParsedToolCalls;
import io.kvasir.http.openai.tools.ToolCallParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Responses API under {@code /v1}: {@code POST /responses}, and for stored responses
 * {@code GET} and {@code DELETE /responses/{id}} and {@code GET /responses/{id}/input_items}. A
 * response runs as a chat turn (the request is read into chat's form, see {@link ResponsesRequest});
 * what this class adds is the conversation: the stored history a follow-up continues, the session its
 * turns share (so they reach the replica holding their KV), and storing the answer. Stored responses
 * belong to the caller's scope: another scope's id is a 404, as an id that never existed.
 */
public final class ResponsesRoutes extends AllDirectives {

    private static final Logger log = LoggerFactory.getLogger(ResponsesRoutes.class);
    private static final akka.http.javadsl.model.ContentType EVENT_STREAM =
            MediaTypes.TEXT_EVENT_STREAM.toContentType();

    private final Fabric fabric;
    private final HttpSettings settings;
    private final Materializer materializer;
    private final RequestJson json;

    public ResponsesRoutes(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.materializer = materializer;
        this.json = new RequestJson(settings.json());
    }

    /** Routes relative to {@code /v1/responses} for one caller. */
    public Route scoped(Caller caller) {
        String owner = caller.scope() == null ? "" : caller.scope();
        return concat(
                pathEndOrSingleSlash(() -> post(() -> create(caller, owner))),
                path(
                        PathMatchers.segment().slash("input_items"),
                        id -> UnreadBody.discardedBefore(
                                () -> get(() -> parameterMap(query -> inputItems(owner, id, query))))),
                path(
                        PathMatchers.segment(),
                        id -> UnreadBody.discardedBefore(
                                () -> concat(get(() -> retrieve(owner, id)), delete(() -> delete(owner, id))))));
    }

    private ResponseStore store() {
        return fabric.responses();
    }

    private Route retrieve(String owner, String id) {
        return completeWithFuture(stored(owner, id)
                .thenApply(r -> JsonResponses.ok(StoredChain.parse(r.responseJson())))
                .exceptionally(ErrorResponses::response));
    }

    /** One page of the response's own input items; the query is checked before the store is asked. */
    private Route inputItems(String owner, String id, Map<String, String> query) {
        return completeWithFuture(CompletableFuture.completedFuture(query)
                .thenApply(InputItemsPage::read)
                .thenCompose(page -> stored(owner, id).thenApply(r -> {
                    List<JsonNode> items = new ArrayList<>();
                    StoredChain.parse(r.inputJson()).forEach(items::add);
                    return JsonResponses.ok(page.of(items));
                }))
                .exceptionally(ErrorResponses::response));
    }

    private Route delete(String owner, String id) {
        return completeWithFuture(store().delete(owner, id)
                .thenApply(deleted -> {
                    if (!deleted) {
                        throw missing(id);
                    }
                    return JsonResponses.ok(Map.of("id", id, "object", "response.deleted", "deleted", true));
                })
                .exceptionally(ErrorResponses::response));
    }

    private CompletionStage<StoredResponse> stored(String owner, String id) {
        return store().get(owner, id).thenApply(found -> found.orElseThrow(() -> missing(id)));
    }

    private static ApiError.ApiException missing(String id) {
        return StoredChain.notFound("Response with id '" + id + "' not found.", null);
    }

    private Route create(Caller caller, String owner) {
        return extractRequest(request -> {
            if (!JsonMediaType.isJson(request.entity().getContentType())) {
                return complete(ErrorResponses.response(ApiError.unsupportedMediaType(
                        "Send the request body as JSON with 'Content-Type: application/json' (got '"
                                + JsonMediaType.describe(request.entity().getContentType()) + "').")));
            }
            CompletionStage<HttpResponse> response = io.kvasir.http.StrictBody.of(request, settings, materializer)
                    .thenCompose(bytes -> {
                        ResponsesRequest parsed = ResponsesRequest.read(json.parse(bytes.toArray()));
                        CompletionStage<StoredChain> history = parsed.previousResponseId() == null
                                ? CompletableFuture.completedFuture(null)
                                : StoredChain.load(store(), owner, parsed.previousResponseId());
                        return history.thenCompose(chain -> run(request, caller, owner, parsed, chain))
                                .exceptionally(failure -> ErrorResponses.response(ContextRefusal.inResponsesTerms(
                                        ErrorResponses.fromThrowable(failure), parsed.maxOutputTokens())));
                    })
                    .exceptionally(ErrorResponses::response);
            return completeWithFuture(response);
        });
    }

    private CompletionStage<HttpResponse> run(
            HttpRequest http, Caller caller, String owner, ResponsesRequest request, StoredChain chain) {
        String id = Ids.response();
        String sessionHeader = header(http, "X-Session-Id");
        String sessionId = sessionHeader != null && !sessionHeader.isBlank()
                ? sessionHeader.strip()
                : chain != null && chain.last().sessionId() != null
                        ? chain.last().sessionId()
                        : request.sessionHint() != null ? request.sessionHint() : id;
        OpenAiRequests.Parsed chat = OpenAiRequests.chat(
                request.chatBody(), new OpenAiRequests.Headers(sessionId, header(http, "X-Kvasir-Workload")));
        List<ChatMessage> messages = new ArrayList<>();
        if (request.instructions() != null) {
            messages.add(new ChatMessage("system", request.instructions()));
        }
        List<JsonNode> items = new ArrayList<>(chain == null ? List.of() : chain.items());
        request.input().forEach(items::add);
        messages.addAll(InputItems.toMessages(items));
        GenerationRequest generation = forCaller(withMessages(chat.generation(), messages), caller, http);
        ToolCallParser parser = chat.tools().offered() ? new ToolCallParser(chat.tools()) : null;
        Source<GenerationEvent, NotUsed> events = fabric.generate(generation);
        StoreStep storeStep = new StoreStep(owner, id, request, sessionId);
        return request.stream()
                ? streamed(id, request, generation.model(), events, parser, storeStep)
                : whole(id, request, generation.model(), events, parser, storeStep);
    }

    /** Stores a finished response when the request asked for it ({@code store}, the default). */
    private final class StoreStep {
        private final String owner;
        private final String id;
        private final ResponsesRequest request;
        private final String sessionId;
        private final long createdAt = System.currentTimeMillis();

        StoreStep(String owner, String id, ResponsesRequest request, String sessionId) {
            this.owner = owner;
            this.id = id;
            this.request = request;
            this.sessionId = sessionId;
        }

        CompletionStage<?> apply(ObjectNode response) {
            if (!request.store()) {
                return CompletableFuture.completedFuture(null);
            }
            StoredResponse stored = new StoredResponse(
                    id,
                    owner,
                    createdAt,
                    request.previousResponseId(),
                    sessionId,
                    request.input().toString(),
                    response.toString());
            return store().put(stored).handle((outcome, failure) -> {
                if (failure != null) {
                    // The answer still goes out: it was made; only a follow-up naming it will fail.
                    log.warn("Response {} could not be stored: {}", id, failure.toString());
                } else if (outcome == ResponseStore.Stored.LOCAL_ONLY) {
                    log.debug("Response {} is stored on this node only so far", id);
                }
                return null;
            });
        }
    }

    private CompletionStage<HttpResponse> whole(
            String id,
            ResponsesRequest request,
            String model,
            Source<GenerationEvent, NotUsed> events,
            ToolCallParser parser,
            StoreStep storeStep) {
        return events.completionTimeout(settings.requestTimeout())
                .runWith(Sink.seq(), materializer)
                .thenCompose(all -> {
                    GenerationEvent.Started started = null;
                    StringBuilder text = new StringBuilder();
                    TextLogprobs logprobs = request.logprobs() ? new TextLogprobs() : null;
                    GenerationEvent.Finished finished = null;
                    for (GenerationEvent event : all) {
                        switch (event) {
                            case GenerationEvent.Started s -> started = s;
                            case GenerationEvent.Token t -> {
                                text.append(t.text());
                                if (logprobs != null) {
                                    logprobs.add(t);
                                }
                            }
                            case GenerationEvent.Finished f -> finished = f;
                        }
                    }
                    if (finished == null || finished.reason() == FinishReason.ERROR) {
                        log.error("Response {} for model {} ended without a usable finish", id, model);
                        throw ApiError.internal().toException();
                    }
                    String served = started != null && started.model() != null ? started.model() : model;
                    boolean cut = finished.reason() == FinishReason.LENGTH;
                    ParsedToolCalls calls =
                            parser == null ? ParsedToolCalls.text(text.toString()) : parser.parse(text.toString(), cut);
                    ObjectNode body = new ResponseObject(id, nowSeconds(), served, request)
                            .finished(ResponseObject.output(calls, cut, logprobs), finished);
                    String replica = started == null ? null : started.replica();
                    return storeStep.apply(body).thenApply(ignored -> withReplica(JsonResponses.ok(body), replica));
                });
    }

    private CompletionStage<HttpResponse> streamed(
            String id,
            ResponsesRequest request,
            String model,
            Source<GenerationEvent, NotUsed> events,
            ToolCallParser parser,
            StoreStep storeStep) {
        // As chat's stream: wait for the first event only, so a refusal is still a status code.
        CompletionStage<Pair<List<GenerationEvent>, Source<GenerationEvent, NotUsed>>> admitted = events.initialTimeout(
                        settings.requestTimeout())
                .prefixAndTail(1)
                .runWith(Sink.head(), materializer);
        return admitted.thenApply(pair -> {
            Source<GenerationEvent, NotUsed> rest = pair.second();
            String replica = null;
            String served = model;
            if (!pair.first().isEmpty()) {
                if (pair.first().getFirst() instanceof GenerationEvent.Started started) {
                    replica = started.replica();
                    served = started.model() != null ? started.model() : served;
                } else {
                    rest = Source.from(pair.first()).concat(rest);
                }
            }
            ResponseObject response = new ResponseObject(id, nowSeconds(), served, request);
            return withReplica(
                    HttpResponse.create()
                            .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                            .withEntity(HttpEntities.createChunked(
                                    EVENT_STREAM,
                                    ResponseStream.encode(
                                            response,
                                            rest,
                                            parser,
                                            storeStep::apply,
                                            settings.sseKeepAlive(),
                                            request.logprobs()))),
                    replica);
        });
    }

    private static HttpResponse withReplica(HttpResponse response, String replica) {
        return replica == null || !replica.chars().allMatch(c -> c > 0x20 && c < 0x7f)
                ? response
                : response.addHeader(RawHeader.create("X-Kvasir-Replica", replica));
    }

    /** The turns as the request's messages (the chat form was read with a placeholder turn). */
    private static GenerationRequest withMessages(GenerationRequest r, List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw ApiError.invalid("The conversation has no turns to answer.", "input")
                    .toException();
        }
        return new GenerationRequest(
                r.model(),
                r.sessionId(),
                List.copyOf(messages),
                null,
                r.sampling(),
                r.maxTokens(),
                r.stop(),
                r.workload(),
                r.tenant(),
                r.scope(),
                r.responseFormat(),
                r.tierHint(),
                r.tools());
    }

    /** On behalf of the caller: their scope, their tenant and its default workload class (as chat does). */
    private static GenerationRequest forCaller(GenerationRequest request, Caller caller, HttpRequest http) {
        if (caller.tenant() == null) {
            request = request.forTenant(null, caller.scope());
        } else {
            request = request.forTenant(caller.tenant().name(), caller.scope());
            if (header(http, "X-Kvasir-Workload") == null) {
                request = request.withWorkload(caller.tenant().workload());
            }
        }
        String tierHint = header(http, "X-Kvasir-Tier");
        return tierHint == null ? request : request.withTierHint(tierHint);
    }

    private static long nowSeconds() {
        return System.currentTimeMillis() / 1000;
    }

    private static String header(HttpRequest request, String name) {
        return request.getHeader(name).map(HttpHeader::value).orElse(null);
    }
}
