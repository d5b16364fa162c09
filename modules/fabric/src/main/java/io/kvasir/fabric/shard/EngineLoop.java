package io.kvasir.fabric.shard;

import akka.Done;
import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.fabric.LoadedModel;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns a replica's engine. Everything that touches the engine (loading, prompt
 * rendering, adding, stepping, pausing, aborting, stats, KV export and import) is a command on this
 * thread's queue, so the engine needs no locks and no Akka dispatcher thread ever blocks on a step.
 * While any request can run, it steps continuously; when all of its requests are paused (their
 * readers have no demand), it wakes every {@code pausedPoll} to see whether demand came back.
 */
final class EngineLoop {

    private static final Logger log = LoggerFactory.getLogger(EngineLoop.class);

    /** Called on the engine thread; implementations only send messages. */
    interface Listener {
        void loaded();

        void loadFailed(Throwable cause);

        /** The engine threw from a step; the thread has ended and every stream has failed. */
        void crashed(Throwable cause);
    }

    private final String name;
    private final Callable<LoadedModel> loader;
    private final Listener listener;
    private final Materializer materializer;
    private final int bufferSize;
    private final long pausedPollNanos;
    private final BlockingQueue<Runnable> commands = new LinkedBlockingQueue<>();
    private final Thread thread;
    // Engine-thread state from here on.
    private final Map<String, RequestStream> streams = new HashMap<>();
    private final Map<String, Consumer<TokenEvent>> internal = new HashMap<>();
    private final Map<String, Consumer<int[]>> onFinished = new HashMap<>();
    private LoadedModel model;
    private volatile boolean stopping;
    private volatile boolean ended;

    EngineLoop(String name, Callable<LoadedModel> loader, Listener listener, Materializer materializer,
               int bufferSize, Duration pausedPoll) {
        this.name = name;
        this.loader = loader;
        this.listener = listener;
        this.materializer = materializer;
        this.bufferSize = bufferSize;
        this.pausedPollNanos = pausedPoll.toNanos();
        this.thread = Thread.ofPlatform().name("kvasir-engine-" + name).daemon(true).unstarted(this::run);
    }

    void start() {
        thread.start();
    }

    /** Runs {@code task} on the engine thread with the loaded model. */
    void execute(Consumer<LoadedModel> task) {
        commands.add(() -> task.accept(model));
    }

    void stats(Consumer<EngineStats> reply) {
        execute(m -> reply.accept(m.engine().stats()));
    }

    /**
     * Starts a streamed generation: the engine request is added, its events go into a bounded
     * queue behind a SourceRef. Must run on the engine thread (call it from {@link #execute}).
     *
     * @param first    the stream's first element
     * @param finished gets the conversation's token ids when the request ends normally
     */
    SourceRef<GenerationEvent> openStream(io.kvasir.engine.core.EngineRequest request, GenerationEvent first,
                                          Consumer<int[]> finished) {
        InferenceEngine engine = model.engine();
        if (streams.containsKey(request.id()) || internal.containsKey(request.id())) {
            throw new IllegalArgumentException("request id " + request.id() + " is already running");
        }
        engine.addRequest(request);
        Pair<Pair<BoundedSourceQueue<GenerationEvent>, CompletionStage<Done>>, SourceRef<GenerationEvent>> m =
                Source.<GenerationEvent>queue(bufferSize)
                        .watchTermination(Keep.both())
                        .toMat(StreamRefs.sourceRef(), Keep.both())
                        .run(materializer);
        RequestStream stream = new RequestStream(request.id(), m.first().first(), bufferSize, request.promptTokens());
        streams.put(request.id(), stream);
        onFinished.put(request.id(), finished);
        stream.push(first);
        String id = request.id();
        // Fires on completion too; by then the stream is gone and the command does nothing.
        m.first().second().whenComplete((done, failure) -> commands.add(() -> readerLeft(id)));
        return m.second();
    }

    /** Runs a request whose events stay inside the fabric (prefill-only work). Engine thread only. */
    void runInternal(io.kvasir.engine.core.EngineRequest request, Consumer<TokenEvent> onFinal) {
        model.engine().addRequest(request);
        internal.put(request.id(), onFinal);
    }

    /** False once the thread has ended (stopped, failed to load, crashed): commands would not run. */
    boolean running() {
        return !ended && !stopping;
    }

    /** Stops the thread: every open stream fails, the model is closed. */
    void close() {
        stopping = true;
        commands.add(() -> { });
    }

    private void run() {
        try {
            model = loader.call();
        } catch (Throwable t) {
            ended = true;
            listener.loadFailed(t);
            return;
        }
        listener.loaded();
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
        Runnable first;
        if (canStep()) {
            first = commands.poll();
        } else if (streams.isEmpty() && !model.engine().hasWork()) {
            first = commands.take();
        } else {
            first = commands.poll(pausedPollNanos, TimeUnit.NANOSECONDS);
        }
        for (Runnable command = first; command != null; command = commands.poll()) {
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
        return streams.values().stream().allMatch(RequestStream::engineDone) && model.engine().hasWork();
    }

    private void dispatch(List<TokenEvent> events) {
        for (TokenEvent event : events) {
            RequestStream stream = streams.get(event.requestId());
            if (stream == null) {
                Consumer<TokenEvent> hidden = event.finished() ? internal.remove(event.requestId()) : null;
                if (hidden != null) {
                    hidden.accept(event);
                }
                continue;
            }
            stream.accept(event);
            if (stream.closed()) {
                close(stream, event.finish());
            } else if (!stream.engineDone() && !stream.paused() && stream.congested()) {
                model.engine().setPaused(stream.requestId(), true);
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
                model.engine().setPaused(stream.requestId(), false);
                stream.paused(false);
            }
        }
        done.forEach(s -> close(s, null));
    }

    private void close(RequestStream stream, io.kvasir.engine.core.FinishReason reason) {
        streams.remove(stream.requestId());
        Consumer<int[]> finished = onFinished.remove(stream.requestId());
        boolean normal = reason != io.kvasir.engine.core.FinishReason.ABORT
                && reason != io.kvasir.engine.core.FinishReason.ERROR && !stream.readerGone();
        if (finished != null && normal) {
            finished.accept(stream.conversationTokens());
        }
    }

    /** The reader cancelled or its stream ended: abort the engine request if it still runs. */
    private void readerLeft(String requestId) {
        RequestStream stream = streams.get(requestId);
        if (stream == null) {
            return;
        }
        stream.readerGone(true);
        if (stream.engineDone()) {
            close(stream, null);
        } else {
            model.engine().abort(requestId);
        }
    }

    private void shutdown() {
        ended = true;
        FabricException gone = new FabricException(FabricException.Kind.UNAVAILABLE, "the replica stopped");
        for (Iterator<RequestStream> it = streams.values().iterator(); it.hasNext(); ) {
            it.next().fail(gone);
            it.remove();
        }
        internal.clear();
        try {
            if (model != null) {
                model.close();
            }
        } catch (RuntimeException e) {
            log.warn("closing engine {} failed", name, e);
        }
    }
}
