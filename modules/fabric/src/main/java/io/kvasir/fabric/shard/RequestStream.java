package io.kvasir.fabric.shard;

import akka.stream.BoundedSourceQueue;
import akka.stream.QueueOfferResult;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.fabric.api.GenerationEvent;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * One generation's path from the engine thread into its bounded stream. Only the engine thread
 * touches it. The queue holds at most {@code capacity} events; an event the queue refuses waits in
 * {@code pending}, which stays tiny because the request is paused as soon as either fills, and a
 * paused request produces nothing more (at most its final event).
 */
final class RequestStream {

    private final String requestId;
    private final BoundedSourceQueue<GenerationEvent> queue;
    private final int capacity;
    private final ArrayDeque<GenerationEvent> pending = new ArrayDeque<>();
    private final int[] prompt;
    private int[] generated = new int[16];
    private int generatedCount;
    private boolean paused;
    private boolean engineDone;
    private boolean readerGone;
    private boolean completed;

    RequestStream(String requestId, BoundedSourceQueue<GenerationEvent> queue, int capacity, int[] prompt) {
        this.requestId = requestId;
        this.queue = queue;
        this.capacity = capacity;
        this.prompt = prompt;
    }

    String requestId() {
        return requestId;
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
        return readerGone;
    }

    void readerGone(boolean value) {
        readerGone = value;
    }

    /** Turns the engine's event into stream events; completes the stream after the final one. */
    void accept(TokenEvent event) {
        if (event.tokenId() >= 0) {
            if (generatedCount == generated.length) {
                generated = Arrays.copyOf(generated, generated.length * 2);
            }
            generated[generatedCount++] = event.tokenId();
            push(new GenerationEvent.Token(event.tokenId(), event.text(), event.logprob(), event.topLogprobs()));
        }
        if (event.finished()) {
            engineDone = true;
            push(new GenerationEvent.Finished(event.finish(), event.promptTokens(), event.generatedTokens(),
                    event.cachedTokens()));
            completeIfFlushed();
        }
    }

    void push(GenerationEvent event) {
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

    /** The conversation as the engine saw it: prompt then generated ids. */
    int[] conversationTokens() {
        int[] all = Arrays.copyOf(prompt, prompt.length + generatedCount);
        System.arraycopy(generated, 0, all, prompt.length, generatedCount);
        return all;
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

    private boolean offer(GenerationEvent event) {
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
