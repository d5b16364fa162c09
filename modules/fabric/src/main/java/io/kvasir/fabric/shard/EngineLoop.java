package io.kvasir.fabric.shard;

import akka.Done;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import io.kvasir.engine.ServedModel;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.FabricException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns a replica's engine. Everything that touches the engine (loading,
 * adding, stepping, pausing, aborting, stats, KV export and import) is a command on this thread's
 * queue, so the engine needs no locks and no Akka dispatcher thread ever blocks on a step. Callers
 * get futures; they never run code on this thread. While any request can run, it steps
 * continuously; when all of its requests are paused (their readers have no demand), it wakes every
 * {@code pausedPoll} to see whether demand came back.
 */
final class EngineLoop {

    private static final Logger log = LoggerFactory.getLogger(EngineLoop.class);

    /** Called on the engine thread; implementations only send messages. */
    interface Listener {
        /** @param unloaded what the engine measured once loaded, before any turn (zeros: not measured) */
        void loaded(LoneStepProbe.Unloaded unloaded);

        void loadFailed(Throwable cause);

        /** The engine threw from a step; the thread has ended and every stream has failed. */
        void crashed(Throwable cause);
    }

    private final String name;
    private final Callable<ServedModel> loader;
    private final Listener listener;
    private final Materializer materializer;
    private final int bufferSize;
    private final long pausedPollNanos;
    private final BlockingQueue<Command> commands = new LinkedBlockingQueue<>();
    private final Thread thread;
    // Engine-thread state from here on.
    private final Map<String, RequestStream> streams = new HashMap<>();
    private final Map<String, CompletableFuture<TokenEvent>> internal = new HashMap<>();
    private final Map<String, IntConsumer> onFinished = new HashMap<>();
    private volatile ServedModel model;
    private volatile boolean stopping;
    private volatile boolean ended;

    private final boolean probe;
    private final io.kvasir.fabric.health.EngineHeartbeat heartbeat = new io.kvasir.fabric.health.EngineHeartbeat();

    /** @param probe whether to time a lone sequence's decode steps once loaded (for an auto ITL objective) */
    EngineLoop(
            String name,
            Callable<ServedModel> loader,
            Listener listener,
            Materializer materializer,
            int bufferSize,
            Duration pausedPoll,
            boolean probe) {
        this.name = name;
        this.loader = loader;
        this.listener = listener;
        this.materializer = materializer;
        this.bufferSize = bufferSize;
        this.pausedPollNanos = pausedPoll.toNanos();
        this.probe = probe;
        this.thread =
                Thread.ofPlatform().name("kvasir-engine-" + name).daemon(true).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Whether this thread makes progress, for the replica's health checks (readable from any thread). */
    io.kvasir.fabric.health.EngineHeartbeat heartbeat() {
        return heartbeat;
    }

    /** The loaded model, once {@link Listener#loaded} was called; for prompt rendering off this thread. */
    ServedModel model() {
        return model;
    }

    /**
     * Work for the engine thread. Whatever a command promised (a reply, a stream) is kept either
     * way: it runs, or, when the loop ends before it ran, it is rejected.
     */
    private interface Command {
        void run();

        default void reject(FabricException stopped) {}
    }

    private static Command command(Runnable run, java.util.function.Consumer<FabricException> reject) {
        return new Command() {
            @Override
            public void run() {
                run.run();
            }

            @Override
            public void reject(FabricException stopped) {
                reject.accept(stopped);
            }
        };
    }

    private void submit(Command command) {
        commands.add(command);
        if (ended) {
            rejectQueued(new FabricException(FabricException.Kind.UNAVAILABLE, "the replica stopped"));
        }
    }

    private void rejectQueued(FabricException stopped) {
        for (Command c = commands.poll(); c != null; c = commands.poll()) {
            c.reject(stopped);
        }
    }

    /** Runs {@code task} against the engine on the engine thread. */
    <T> CompletionStage<T> call(Function<InferenceEngine, T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        submit(command(
                () -> {
                    try {
                        result.complete(task.apply(model.engine()));
                    } catch (RuntimeException e) {
                        result.completeExceptionally(e);
                    }
                },
                result::completeExceptionally));
        return result;
    }

    /**
     * A new bounded stream for a turn, behind a SourceRef. Any thread may call it. When the stream
     * ends for whatever reason, the engine request (if it runs) is aborted and {@code ended} runs.
     */
    Pair<RequestStream, SourceRef<ReplicaProtocol.TurnEvent>> openStream(
            String requestId, String engineId, Runnable ended) {
        Pair<
                        Pair<BoundedSourceQueue<ReplicaProtocol.TurnEvent>, CompletionStage<Done>>,
                        SourceRef<ReplicaProtocol.TurnEvent>>
                m = Source.<ReplicaProtocol.TurnEvent>queue(bufferSize)
                        .watchTermination(Keep.both())
                        .toMat(StreamRefs.sourceRef(), Keep.both())
                        .run(materializer);
        RequestStream stream = new RequestStream(requestId, engineId, m.first().first(), bufferSize);
        // Fires on completion too; by then the stream is gone and the command does nothing.
        m.first().second().whenComplete((done, failure) -> {
            submit(command(() -> readerLeft(stream), stopped -> {}));
            ended.run();
        });
        return Pair.create(stream, m.second());
    }

    /**
     * Adds the turn's engine request and streams its events into {@code stream}, which begins with
     * a {@link ReplicaProtocol.TurnStarted}; {@code finished} gets the conversation's length when the
     * turn ends normally.
     */
    void start(RequestStream stream, EngineRequest request, String replica, IntConsumer finished) {
        submit(command(() -> begin(stream, request, replica, finished), stream::fail));
    }

    /** As {@link #start}, after importing KV computed elsewhere into the prefix cache. */
    void importThenStart(
            KvTransfer transfer, RequestStream stream, EngineRequest request, String replica, IntConsumer finished) {
        submit(command(
                () -> {
                    try {
                        model.engine().importPrefix(transfer);
                    } catch (RuntimeException e) {
                        // A transfer that does not fit only costs time: the prompt is computed here instead.
                        log.warn("replica {} could not import KV for {}: {}", name, stream.requestId(), e.getMessage());
                    }
                    begin(stream, request, replica, finished);
                },
                stream::fail));
    }

    /** Ends a turn's stream with a refusal of its request; the turn never reaches the engine. */
    void refuse(RequestStream stream, FabricException refusal) {
        submit(command(() -> stream.refuse(refusal), stopped -> stream.refuse(refusal)));
    }

    /** Ends a stream that never reached (or is still in) the engine with {@code cause}. */
    void fail(RequestStream stream, FabricException cause) {
        submit(command(
                () -> {
                    if (streams.remove(stream.engineId()) != null) {
                        onFinished.remove(stream.engineId());
                        model.engine().abort(stream.engineId());
                    }
                    stream.fail(cause);
                },
                stopped -> stream.fail(cause)));
    }

    /** Computes the KV of {@code request}'s prompt (prefill only) and exports its full blocks. */
    CompletionStage<KvTransfer> prefill(EngineRequest request) {
        CompletableFuture<TokenEvent> last = new CompletableFuture<>();
        submit(command(
                () -> {
                    try {
                        model.engine().addRequest(request);
                        internal.put(request.id(), last);
                    } catch (RuntimeException e) {
                        last.completeExceptionally(e);
                    }
                },
                last::completeExceptionally));
        return last.thenCompose(event -> {
            if (event.finish() == FinishReason.ERROR || event.finish() == FinishReason.ABORT) {
                return CompletableFuture.failedFuture(
                        new IllegalStateException("prefill ended with " + event.finish()));
            }
            return call(engine -> engine.exportPrefix(request.promptTokens(), request.cacheScope()));
        });
    }

    /** A prefill-only request for {@code tokens}, cached under {@code cacheScope}. */
    static EngineRequest prefillRequest(String engineId, int[] tokens, String cacheScope) {
        return new EngineRequest(
                engineId,
                tokens,
                SamplingParams.greedy(),
                0,
                java.util.List.of(),
                java.util.Set.of(),
                false,
                0,
                cacheScope);
    }

    /** False once the thread has ended (stopped, failed to load, crashed): commands would not run. */
    boolean running() {
        return !ended && !stopping;
    }

    /** Stops the thread: every open stream fails, the model is closed. */
    void close() {
        stopping = true;
        submit(command(() -> {}, stopped -> {}));
    }

    private void begin(RequestStream stream, EngineRequest request, String replica, IntConsumer finished) {
        if (stream.readerGone()) {
            return; // the reader left while the prompt was rendered
        }
        InferenceEngine engine = model.engine();
        int cached;
        try {
            cached = engine.cachedPrefixLength(request.promptTokens(), request.cacheScope());
            engine.addRequest(request);
        } catch (IllegalArgumentException e) {
            String field = e instanceof io.kvasir.engine.core.InvalidRequestField f ? f.field() : null;
            stream.refuse(new FabricException(FabricException.Kind.INVALID_REQUEST, e.getMessage(), field, 0));
            return;
        }
        streams.put(request.id(), stream);
        onFinished.put(request.id(), finished);
        stream.promptLength(request.promptTokens().length);
        stream.push(
                new ReplicaProtocol.TurnStarted(stream.requestId(), replica, request.promptTokens().length, cached));
    }

    private void run() {
        // The engine's steps yield the cores to the threads that answer clients when both want them.
        io.kvasir.engine.ComputePriority.lowerCurrentThread();
        LoneStepProbe.Unloaded unloaded;
        try {
            model = loader.call();
            unloaded = probe ? LoneStepProbe.measure(model.engine()) : LoneStepProbe.Unloaded.NONE;
        } catch (Throwable t) {
            ended = true;
            rejectQueued(new FabricException(FabricException.Kind.UNAVAILABLE, "the replica failed to load"));
            listener.loadFailed(t);
            return;
        }
        listener.loaded(unloaded);
        try {
            while (!stopping) {
                runCommands();
                if (stopping) {
                    break;
                }
                resumeReaders();
                if (model.engine().hasWork()) {
                    dispatch(model.engine().step());
                }
                heartbeat.busy(System.nanoTime());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            log.error("engine {} failed; its streams are ended", name, e);
            ended = true;
            shutdown();
            listener.crashed(e);
            return;
        }
        shutdown();
    }

    private void runCommands() throws InterruptedException {
        Command first;
        if (canStep()) {
            first = commands.poll();
        } else if (streams.isEmpty() && !model.engine().hasWork()) {
            heartbeat.idle();
            first = commands.take();
            heartbeat.busy(System.nanoTime());
        } else {
            heartbeat.idle();
            first = commands.poll(pausedPollNanos, TimeUnit.NANOSECONDS);
            heartbeat.busy(System.nanoTime());
        }
        for (Command command = first; command != null; command = commands.poll()) {
            try {
                command.run();
            } catch (RuntimeException e) {
                log.error("engine {} command failed", name, e);
            }
        }
    }

    /** Whether a step can make progress: some request is not held back by its reader. */
    private boolean canStep() {
        if (!model.engine().hasWork()) {
            return false;
        }
        if (!internal.isEmpty()) {
            return true;
        }
        for (RequestStream s : streams.values()) {
            if (!s.paused() && !s.engineDone()) {
                return true;
            }
        }
        // Only paused requests remain, or final events are still to come.
        return streams.values().stream().allMatch(RequestStream::engineDone);
    }

    private void dispatch(List<TokenEvent> events) {
        for (TokenEvent event : events) {
            RequestStream stream = streams.get(event.requestId());
            if (stream == null) {
                CompletableFuture<TokenEvent> hidden = event.finished() ? internal.remove(event.requestId()) : null;
                if (hidden != null) {
                    hidden.complete(event);
                }
                continue;
            }
            stream.accept(event);
            if (stream.closed()) {
                close(stream, event.finish());
            } else if (!stream.engineDone() && !stream.paused() && stream.congested()) {
                model.engine().setPaused(stream.engineId(), true);
                stream.paused(true);
            }
        }
    }

    private void resumeReaders() {
        List<RequestStream> done = new ArrayList<>();
        for (RequestStream stream : streams.values()) {
            if (!stream.paused() && !stream.engineDone()) {
                continue;
            }
            stream.flush();
            if (stream.closed()) {
                done.add(stream);
            } else if (stream.paused() && !stream.engineDone() && stream.drained()) {
                model.engine().setPaused(stream.engineId(), false);
                stream.paused(false);
            }
        }
        done.forEach(s -> close(s, null));
    }

    private void close(RequestStream stream, FinishReason reason) {
        streams.remove(stream.engineId());
        IntConsumer finished = onFinished.remove(stream.engineId());
        boolean normal = reason != FinishReason.ABORT && reason != FinishReason.ERROR && !stream.readerGone();
        if (finished != null && normal) {
            finished.accept(stream.conversationTokens());
        }
    }

    /** The reader cancelled or its stream ended: abort the engine request if it still runs. */
    private void readerLeft(RequestStream stream) {
        stream.readerGone(true);
        if (streams.get(stream.engineId()) != stream) {
            return;
        }
        if (stream.engineDone()) {
            close(stream, null);
        } else {
            model.engine().abort(stream.engineId());
        }
    }

    private void shutdown() {
        ended = true;
        FabricException gone = new FabricException(FabricException.Kind.UNAVAILABLE, "the replica stopped");
        for (Iterator<RequestStream> it = streams.values().iterator(); it.hasNext(); ) {
            it.next().fail(gone);
            it.remove();
        }
        internal.values().forEach(f -> f.completeExceptionally(gone));
        internal.clear();
        // Commands still queued (a turn being started, a stats call) will never run: fail what they
        // promised. One submitted after this drain sees ended set and rejects itself (submit).
        rejectQueued(gone);
        try {
            if (model != null) {
                model.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing engine {} failed", name, e);
        }
    }
}
