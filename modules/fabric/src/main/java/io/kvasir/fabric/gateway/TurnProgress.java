package io.kvasir.fabric.gateway;

import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.shard.ReplicaProtocol;
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
    /** The text sent so far: an external engine resumes from text, not token ids. */
    private final StringBuilder sentText = new StringBuilder();

    private volatile boolean placed;

    /** A replica accepted the turn: from now on a failure is the replica's, not the request's. */
    public void placed() {
        placed = true;
    }

    /**
     * The API events to pass on for a replica's {@code event}; a refusal fails the stream with its
     * {@link FabricException}.
     */
    public List<GenerationEvent> pass(ReplicaProtocol.TurnEvent event) {
        return switch (event) {
            case ReplicaProtocol.TurnStarted s -> {
                if (started != null) {
                    yield List.of();
                }
                started = new GenerationEvent.Started(s.requestId(), s.replica(), s.promptTokens(), s.cachedTokens());
                yield List.of(started);
            }
            case ReplicaProtocol.TurnToken t -> {
                if (sentCount == sent.length) {
                    sent = Arrays.copyOf(sent, sent.length * 2);
                }
                sent[sentCount++] = t.tokenId();
                sentText.append(t.text());
                yield List.of(new GenerationEvent.Token(t.tokenId(), t.text(), t.logprob(), t.top(), t.own()));
            }
            case ReplicaProtocol.TurnFinished f -> {
                finished = true;
                yield List.of(
                        resumes == 0
                                ? new GenerationEvent.Finished(
                                        f.reason(),
                                        f.promptTokens(),
                                        f.completionTokens(),
                                        f.cachedTokens(),
                                        f.prompt())
                                : new GenerationEvent.Finished(
                                        f.reason(),
                                        started.promptTokens(),
                                        sentCount,
                                        started.cachedTokens(),
                                        firstPrompt(f.prompt(), started.promptTokens())));
            }
            case ReplicaProtocol.TurnRefused r -> throw r.toException();
        };
    }

    /**
     * A resumed turn's prompt scores are of the prompt plus what was sent before the resume: the
     * client's prompt is the first {@code length} of them.
     */
    private static GenerationEvent.PromptResult firstPrompt(GenerationEvent.PromptResult p, int length) {
        if (p == null || p.tokens() == null || p.tokens().size() <= length) {
            return p;
        }
        return new GenerationEvent.PromptResult(List.copyOf(p.tokens().subList(0, length)), p.embedding(), p.pooling());
    }

    /**
     * Whether {@code failure} can be healed by resuming: a replica accepted the turn, it has not
     * finished (the client may have seen nothing yet: events still in flight are lost with the
     * replica), and the failure is the replica's, not a refusal of the request (a prompt too long
     * for the context fails the same everywhere).
     */
    public boolean resumable(Throwable failure, int maxResumes) {
        boolean refusal = failure instanceof FabricException fe && fe.kind() != FabricException.Kind.UNAVAILABLE;
        return placed && !finished && !refusal && resumes < maxResumes;
    }

    /** The prompt's length as the first replica counted it; 0 before it started. */
    public int promptTokens() {
        return started == null ? 0 : started.promptTokens();
    }

    /** Whether a token has reached the client yet. */
    public boolean anyTokenSent() {
        return sentCount > 0;
    }

    /** The text the client has been sent (what an external engine's resume continues from). */
    public String sentText() {
        return sentText.toString();
    }

    /** Token ids to continue from; counts the resume. */
    public int[] resumeFrom() {
        resumes++;
        return Arrays.copyOf(sent, sentCount);
    }
}
