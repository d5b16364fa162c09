package io.kvasir.fabric.shard;

import akka.stream.BoundedSourceQueue;
import akka.stream.QueueOfferResult;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.fabric.api.GenerationEvent;
import java.util.ArrayDeque;

/**
 * One generation's path from the engine thread into its bounded stream. Only the engine thread
 * touches it, but for {@link #withdraw}, which any thread may call: the stream is claimed by
 * whichever comes first, the engine's first event after the start (a token, a refusal, the end) or
 * a withdrawal, and the other side then leaves it alone. The queue holds at most {@code capacity} events; an event the queue refuses waits in
 * {@code pending}, which stays tiny because the request is paused as soon as either fills, and a
 * paused request produces nothing more (at most its final event).
 */
final class RequestStream {

    private final String requestId;
    private final String engineId;
    private final BoundedSourceQueue<ReplicaProtocol.TurnEvent> queue;
    private final int capacity;
    private final ArrayDeque<ReplicaProtocol.TurnEvent> pending = new ArrayDeque<>();
    private int promptLength;
    private int generatedCount;
    private boolean paused;
    private boolean engineDone;
    private boolean readerGone;
    private boolean completed;
    private final java.util.concurrent.atomic.AtomicInteger claim = new java.util.concurrent.atomic.AtomicInteger(OPEN);

    private static final int OPEN = 0;
    private static final int COMMITTED = 1;
    private static final int WITHDRAWN = 2;

    /**
     * @param requestId the turn's id in the fabric
     * @param engineId  the engine's id for this run of the turn (unique among the replica's requests,
     *                  so a turn placed here again after an abandoned attempt never collides with it)
     */
    RequestStream(
            String requestId, String engineId, BoundedSourceQueue<ReplicaProtocol.TurnEvent> queue, int capacity) {
        this.requestId = requestId;
        this.engineId = engineId;
        this.queue = queue;
        this.capacity = capacity;
    }

    String requestId() {
        return requestId;
    }

    String engineId() {
        return engineId;
    }

    void promptLength(int tokens) {
        promptLength = tokens;
    }

    boolean paused() {
        return paused;
    }

    void paused(boolean value) {
        paused = value;
    }

    boolean engineDone() {
        return engineDone;
    }

    boolean readerGone() {
        return readerGone || claim.get() == WITHDRAWN;
    }

    /**
     * Any thread: ends the stream with {@code cause} while it has sent nothing past its start, so
     * that its turn resumes on another replica (the gateway's resume path); false once it has sent
     * more, and it then runs to its end here. The engine request, if any, is aborted through the
     * stream's termination hook when the engine thread next runs.
     */
    boolean withdraw(io.kvasir.fabric.api.FabricException cause) {
        if (!claim.compareAndSet(OPEN, WITHDRAWN)) {
            return false;
        }
        try {
            queue.fail(cause);
        } catch (IllegalStateException alreadyClosed) {
            // The reader cancelled meanwhile: nobody is left to tell.
        }
        return true;
    }

    void readerGone(boolean value) {
        readerGone = value;
    }

    /** Turns the engine's event into stream events; completes the stream after the final one. */
    void accept(TokenEvent event) {
        if (event.tokenId() >= 0) {
            generatedCount++;
            push(new ReplicaProtocol.TurnToken(
                    event.tokenId(), event.text(), event.logprob(), top(event), event.tokenText()));
        }
        if (event.finished()) {
            engineDone = true;
            push(new ReplicaProtocol.TurnFinished(
                    reason(event.finish()),
                    event.promptTokens(),
                    event.generatedTokens(),
                    event.cachedTokens(),
                    prompt(event.prompt())));
            completeIfFlushed();
        }
    }

    /** The engine's prompt scores in the fabric's types; null stays null. */
    static GenerationEvent.PromptResult prompt(io.kvasir.engine.core.PromptResult p) {
        if (p == null) {
            return null;
        }
        java.util.List<GenerationEvent.PromptToken> tokens = p.logprobs() == null
                ? null
                : p.logprobs().stream()
                        .map(t -> new GenerationEvent.PromptToken(
                                t.tokenId(),
                                t.text(),
                                t.logprob(),
                                t.top().stream()
                                        .map(a -> new GenerationEvent.TopLogprob(a.tokenId(), a.text(), a.logprob()))
                                        .toList()))
                        .toList();
        String pooling = p.pooling() == null ? null : p.pooling().name().toLowerCase(java.util.Locale.ROOT);
        return new GenerationEvent.PromptResult(tokens, p.embedding(), pooling);
    }

    void push(ReplicaProtocol.TurnEvent event) {
        if (!(event instanceof ReplicaProtocol.TurnStarted)
                && claim.get() != COMMITTED
                && !claim.compareAndSet(OPEN, COMMITTED)) {
            readerGone = true; // withdrawn: the turn went elsewhere
            pending.clear();
        }
        if (readerGone) {
            return;
        }
        if (!pending.isEmpty()) {
            pending.add(event);
            return;
        }
        offer(event);
    }

    /** Moves waiting events into the queue as far as it has room; true when none wait any more. */
    boolean flush() {
        while (!pending.isEmpty() && !readerGone) {
            if (!offer(pending.poll())) {
                break;
            }
        }
        completeIfFlushed();
        return pending.isEmpty();
    }

    /** Whether the reader is behind: the engine should stop producing for this request. */
    boolean congested() {
        return !pending.isEmpty() || queue.size() >= capacity - 1;
    }

    /** Whether the reader has caught up enough to let the engine go on. */
    boolean drained() {
        return pending.isEmpty() && queue.size() <= capacity / 2;
    }

    /** Done from the stream's side: every event delivered (or the reader left) and the engine finished. */
    boolean closed() {
        return engineDone && (pending.isEmpty() || readerGone);
    }

    /** Length of the conversation as the engine saw it: prompt then generated tokens. */
    int conversationTokens() {
        return promptLength + generatedCount;
    }

    /** Ends the stream with a refusal of the request (before anything else was sent). */
    void refuse(io.kvasir.fabric.api.FabricException refusal) {
        engineDone = true;
        push(new ReplicaProtocol.TurnRefused(refusal.kind(), refusal.getMessage(), refusal.param()));
        completeIfFlushed();
    }

    /** The engine's alternatives as the fabric's wire carries them. */
    private static java.util.List<io.kvasir.fabric.api.GenerationEvent.TopLogprob> top(TokenEvent event) {
        if (event.topLogprobs().isEmpty()) {
            return java.util.List.of();
        }
        return event.topLogprobs().stream()
                .map(t -> new io.kvasir.fabric.api.GenerationEvent.TopLogprob(t.tokenId(), t.text(), t.logprob()))
                .toList();
    }

    private static io.kvasir.fabric.api.FinishReason reason(io.kvasir.engine.core.FinishReason engine) {
        return switch (engine) {
            case STOP -> io.kvasir.fabric.api.FinishReason.STOP;
            case LENGTH -> io.kvasir.fabric.api.FinishReason.LENGTH;
            case ABORT -> io.kvasir.fabric.api.FinishReason.ABORT;
            case ERROR -> io.kvasir.fabric.api.FinishReason.ERROR;
        };
    }

    void fail(Throwable cause) {
        if (!readerGone && !completed) {
            completed = true;
            try {
                queue.fail(cause);
            } catch (IllegalStateException alreadyClosed) {
                // The reader cancelled between our last offer and now: nobody is left to tell.
            }
        }
        readerGone = true;
        pending.clear();
    }

    private boolean offer(ReplicaProtocol.TurnEvent event) {
        QueueOfferResult result = queue.offer(event);
        if (result == QueueOfferResult.enqueued()) {
            return true;
        }
        if (result == QueueOfferResult.dropped()) {
            pending.addFirst(event);
            return false;
        }
        // Closed or failed: the reader is gone; the cancel hook aborts the engine request.
        readerGone = true;
        pending.clear();
        return false;
    }

    private void completeIfFlushed() {
        if (engineDone && pending.isEmpty() && !readerGone && !completed) {
            completed = true;
            try {
                queue.complete();
            } catch (IllegalStateException alreadyClosed) {
                // The reader cancelled (e.g. right after it saw Finished) before the engine thread
                // completed the queue; the queue then refuses completion. Nothing is lost: every
                // event was delivered or the reader did not want it.
                readerGone = true;
            }
        }
    }
}
