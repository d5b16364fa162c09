package io.kvasir.fabric.pipeline;

/**
 * What a pipeline's steps cost, summed since it started: wall time on the first stage, compute on
 * every stage (each stage times its own layers and the sums ride along with the frames), and the
 * bytes sent down and back. {@code wall - compute} is what the pipeline adds per step when its
 * micro-batches do not overlap (one micro-batch): coding, transfer and waiting between stages.
 */
public final class PipelineStats {

    private long steps;
    private long parts;
    private long rows;
    private long wallNanos;
    private long localNanos;
    private long computeNanos;
    private long bytesOut;
    private long bytesBack;

    synchronized void step(int parts, int rows, long wall, long local, long compute, long out, long back) {
        this.steps++;
        this.parts += parts;
        this.rows += rows;
        this.wallNanos += wall;
        this.localNanos += local;
        this.computeNanos += compute;
        this.bytesOut += out;
        this.bytesBack += back;
    }

    public synchronized long steps() {
        return steps;
    }

    public synchronized String summary() {
        if (steps == 0) {
            return "no steps";
        }
        return String.format(
                "%d steps, %.2f micro-batches and %.1f rows a step; per step: wall %d us, compute on all stages %d us"
                        + " (first stage %d us), wall - compute %d us, %d bytes down, %d bytes back",
                steps,
                (double) parts / steps,
                (double) rows / steps,
                wallNanos / steps / 1000,
                computeNanos / steps / 1000,
                localNanos / steps / 1000,
                (wallNanos - computeNanos) / steps / 1000,
                bytesOut / steps,
                bytesBack / steps);
    }
}
