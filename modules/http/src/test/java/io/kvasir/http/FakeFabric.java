package io.kvasir.http;

import akka.Done;
import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * TEST DOUBLE, not the real fabric: a scripted {@link Fabric} for the HTTP tests. Each generation
 * answers with the current script; every request is recorded; endless streams count what was pulled
 * from them and report when they were cancelled.
 */
public final class FakeFabric implements Fabric {

    public static final String MODEL = "fake-model";
    public static final int PROMPT_TOKENS = 7;
    public static final int CACHED_TOKENS = 3;

    private final List<ModelDescriptor> models = List.of(
            new ModelDescriptor(MODEL, 2048, "kvasir", true, true),
            new ModelDescriptor("other/model", 512, "kvasir", true, true));
    private final List<GenerationRequest> requests = new CopyOnWriteArrayList<>();
    private final Map<String, SessionStatus> sessions = new ConcurrentHashMap<>();
    private final AtomicBoolean ready = new AtomicBoolean(true);
    private final AtomicInteger drains = new AtomicInteger();
    private final CompletableFuture<Done> drainCompletion = new CompletableFuture<>();
    private volatile Function<GenerationRequest, Source<GenerationEvent, NotUsed>> script =
            reply("Hello", ",", " world");
    private volatile List<ModelStatus> status = List.of();
    private final io.kvasir.fabric.responses.LocalResponseStore responses =
            new io.kvasir.fabric.responses.LocalResponseStore(
                    new io.kvasir.fabric.responses.ResponseRetention(java.time.Duration.ofHours(1), 1000, 1 << 24, 4),
                    System::currentTimeMillis);

    /** Answers every request with these token texts, then STOP. */
    public static Function<GenerationRequest, Source<GenerationEvent, NotUsed>> reply(String... texts) {
        return request -> Source.from(events(FinishReason.STOP, texts));
    }

    /** Refuses every request before any element, as the fabric does for admission failures. */
    public static Function<GenerationRequest, Source<GenerationEvent, NotUsed>> refuse(FabricException e) {
        return request -> Source.failed(e);
    }

    /** Starts, sends {@code texts}, then fails the stream mid-way. */
    public static Function<GenerationRequest, Source<GenerationEvent, NotUsed>> failAfter(
            RuntimeException e, String... texts) {
        return request -> Source.from(events(FinishReason.STOP, texts)).map(event -> {
            // The stream fails where it would have finished: after Started and every token.
            if (event instanceof GenerationEvent.Finished) {
                throw e;
            }
            return event;
        });
    }

    /** Started, tokens, and a Finished event with the given reason. */
    public static List<GenerationEvent> events(FinishReason reason, String... texts) {
        List<GenerationEvent> events = new ArrayList<>();
        events.add(new GenerationEvent.Started("req-1", "replica-0", PROMPT_TOKENS, CACHED_TOKENS));
        for (int i = 0; i < texts.length; i++) {
            events.add(new GenerationEvent.Token(100 + i, texts[i], -0.5f * (i + 1), List.of()));
        }
        events.add(new GenerationEvent.Finished(reason, PROMPT_TOKENS, texts.length, CACHED_TOKENS));
        return events;
    }

    /** What an endless generation reports to the test: tokens pulled and when it terminated. */
    public record EndlessProbe(AtomicLong pulled, CompletableFuture<Done> terminated) {}

    /**
     * A generation that never finishes on its own: a token per pull (as the engine does when the
     * client's demand allows). Only cancellation ends it.
     */
    public EndlessProbe endless(String tokenText) {
        EndlessProbe probe = new EndlessProbe(new AtomicLong(), new CompletableFuture<>());
        script =
                request -> Source.<GenerationEvent>single(new GenerationEvent.Started("req-endless", "replica-0", 1, 0))
                        .concat(Source.unfold(
                                0L,
                                i -> Optional.of(Pair.create(i + 1, (GenerationEvent)
                                        new GenerationEvent.Token(1, tokenText, 0f, List.of())))))
                        .map(e -> {
                            probe.pulled().incrementAndGet();
                            return e;
                        })
                        .watchTermination((mat, done) -> {
                            done.whenComplete((d, failure) -> probe.terminated().complete(Done.getInstance()));
                            return mat;
                        });
        return probe;
    }

    /** A generation that is never admitted: no element ever. Completes the future when cancelled. */
    public CompletableFuture<Done> silent() {
        CompletableFuture<Done> terminated = new CompletableFuture<>();
        script = request -> Source.<GenerationEvent>never().watchTermination((mat, done) -> {
            done.whenComplete((d, failure) -> terminated.complete(Done.getInstance()));
            return NotUsed.getInstance();
        });
        return terminated;
    }

    public void script(Function<GenerationRequest, Source<GenerationEvent, NotUsed>> newScript) {
        script = newScript;
    }

    public void ready(boolean value) {
        ready.set(value);
    }

    private volatile io.kvasir.fabric.fleet.FleetStatus fleet;

    /** What fleetStatus answers (null: no fleet view, as a fabric without one). */
    public void fleet(io.kvasir.fabric.fleet.FleetStatus value) {
        fleet = value;
    }

    @Override
    public CompletionStage<io.kvasir.fabric.fleet.FleetStatus> fleetStatus() {
        return java.util.concurrent.CompletableFuture.completedFuture(fleet);
    }

    public void status(List<ModelStatus> value) {
        status = List.copyOf(value);
    }

    private volatile List<NodeHealthStatus> nodes = List.of();

    public void nodes(List<NodeHealthStatus> value) {
        nodes = List.copyOf(value);
    }

    @Override
    public CompletionStage<List<NodeHealthStatus>> nodes() {
        return CompletableFuture.completedFuture(nodes);
    }

    public void session(SessionStatus session) {
        sessions.put(session.sessionId(), session);
    }

    public List<GenerationRequest> requests() {
        return requests;
    }

    public GenerationRequest lastRequest() {
        return requests.getLast();
    }

    public int drainCalls() {
        return drains.get();
    }

    public void completeDrain() {
        drainCompletion.complete(Done.getInstance());
    }

    @Override
    public Optional<FabricException> refusedAtOnce(GenerationRequest request, java.time.Duration waited) {
        lastWaited = waited;
        return Optional.ofNullable(refusingAtOnce);
    }

    /** What the front end said the last request had already waited when it asked {@link #refusedAtOnce}. */
    public java.time.Duration lastWaited() {
        return lastWaited;
    }

    private volatile java.time.Duration lastWaited;

    /** From now on {@link #refusedAtOnce} answers with {@code refusal} (null: nothing refused up front). */
    public void refuseAtOnce(FabricException refusal) {
        refusingAtOnce = refusal;
    }

    private volatile FabricException refusingAtOnce;

    @Override
    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        requests.add(request);
        if (models.stream().noneMatch(m -> m.id().equals(request.model()))) {
            return Source.failed(new FabricException(
                    FabricException.Kind.UNKNOWN_MODEL, "The model '" + request.model() + "' does not exist."));
        }
        return script.apply(request);
    }

    @Override
    public io.kvasir.fabric.responses.ResponseStore responses() {
        return responses;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    @Override
    public CompletionStage<List<ModelStatus>> modelStatus() {
        return CompletableFuture.completedFuture(status);
    }

    @Override
    public CompletionStage<Optional<SessionStatus>> session(String sessionId) {
        return CompletableFuture.completedFuture(Optional.ofNullable(sessions.get(sessionId)));
    }

    @Override
    public CompletionStage<Done> drain() {
        drains.incrementAndGet();
        return drainCompletion;
    }

    @Override
    public boolean ready() {
        return ready.get();
    }
}
