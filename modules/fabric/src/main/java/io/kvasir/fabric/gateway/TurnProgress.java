package io.kvasir.fabric.gateway;

import io.kvasir.fabric.api.GenerationEvent;
import java.util.Arrays;
import java.util.List;

/**
 * What one client's turn has been told so far, across replicas. When the replica streaming a turn
 * is lost mid-stream, the turn resumes elsewhere from the prompt plus the tokens already sent; this
 * class hides the seam: the second {@link GenerationEvent.Started} is dropped and the final usage
 * counts the whole turn, so nothing the client was told is repeated or lost. One per
 * materialization; the stream calls it from one stage at a time.
 */
public final class TurnProgress {

    private GenerationEvent.Started started;
    private int[] sent = new int[32];
    private int sentCount;
    private boolean finished;
    private int resumes;
    private volatile boolean placed;

    /** A replica accepted the turn: from now on a failure is the replica's, not the request's. */
    public void placed() {
        placed = true;
    }

    /** The events to pass on for {@code event}. */
    public List<GenerationEvent> pass(GenerationEvent event) {
        return switch (event) {
            case GenerationEvent.Started s -> {
                if (started != null) {
                    yield List.of();
                }
                started = s;
                yield List.of(s);
            }
            case GenerationEvent.Token t -> {
                if (sentCount == sent.length) {
                    sent = Arrays.copyOf(sent, sent.length * 2);
                }
                sent[sentCount++] = t.tokenId();
                yield List.of(t);
            }
            case GenerationEvent.Finished f -> {
                finished = true;
                yield List.of(resumes == 0 ? f
                        : new GenerationEvent.Finished(f.reason(), started.promptTokens(), sentCount, started.cachedTokens()));
            }
        };
    }

    /**
     * Whether a failure now can be healed by resuming: a replica accepted the turn and it has not
     * finished (the client may have seen nothing yet: events still in flight are lost with the replica).
     */
    public boolean resumable(int maxResumes) {
        return placed && !finished && resumes < maxResumes;
    }

    /** Token ids to continue from; counts the resume. */
    public int[] resumeFrom() {
        resumes++;
        return Arrays.copyOf(sent, sentCount);
    }
}
