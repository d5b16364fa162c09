package io.kvasir.engine.core;

/**
 * Where a request is in its life. The finished states map to the {@link FinishReason} a client sees.
 * Pausing is not a state: a waiting or running request can be paused and keeps its place.
 */
public enum RequestStatus {
    /** Queued; holds no blocks. A preempted request is back here and recomputes when it restarts. */
    WAITING(null),
    /** Holds blocks and is scheduled every step it fits the budget. */
    RUNNING(null),
    FINISHED_STOPPED(FinishReason.STOP),
    FINISHED_LENGTH(FinishReason.LENGTH),
    FINISHED_ABORTED(FinishReason.ABORT),
    FINISHED_ERROR(FinishReason.ERROR);

    private final FinishReason finishReason;

    RequestStatus(FinishReason finishReason) {
        this.finishReason = finishReason;
    }

    public boolean isFinished() {
        return finishReason != null;
    }

    /** The reason a client is told, or null while the request goes on. */
    public FinishReason finishReason() {
        return finishReason;
    }
}
