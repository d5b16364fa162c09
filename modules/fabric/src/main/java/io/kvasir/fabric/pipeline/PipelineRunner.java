package io.kvasir.fabric.pipeline;

import akka.japi.Pair;
import akka.stream.BoundedSourceQueue;
import akka.stream.Materializer;
import akka.stream.QueueOfferResult;
import akka.stream.SourceRef;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import akka.util.ByteString;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.core.ModelRunner;
import io.kvasir.engine.kv.KvBlockStorage;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first stage of a pipeline, behind the engine's {@link ModelRunner} contract: the scheduler,
 * prefix cache and sampling of an ordinary {@link io.kvasir.engine.core.EngineCore} run on top of
 * it unchanged. A forward pass splits the step into micro-batches, runs this stage's layers on each
 * and sends it down the chain of stages as soon as it is computed (so the next stage starts on the
 * first part while this one computes the second); the last stage's logits come back on the return
 * stream, in order. The KV storage the scheduler sizes its block pool by is this stage's; every
 * later stage holds as many blocks, written at the ids each step names.
 *
 * <p>A stage that is lost (its stream fails or ends, or a step's results do not come back in time)
 * makes every later forward pass impossible: that is {@link StageLost}, thrown past the engine's
 * per-batch error handling so that the whole replica stops and its turns resume elsewhere.
 */
final class PipelineRunner implements ModelRunner {

    private static final Logger log = LoggerFactory.getLogger(PipelineRunner.class);
    private static final long REPORT_EVERY_NANOS = TimeUnit.SECONDS.toNanos(60);

    /** The pipeline cannot go on; an Error so that the engine does not treat it as one bad batch. */
    static final class StageLost extends Error {
        StageLost(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final String name;
    private final StageModel local;
    private final int vocabSize;
    private final int maxContext;
    private final int microBatches;
    private final boolean f16;
    private final long timeoutNanos;
    private final BoundedSourceQueue<ByteString> out;
    private final SinkQueueWithCancel<ByteString> back;
    private final PipelineStats stats = new PipelineStats();
    private long step;
    private long lastReport = System.nanoTime();
    private boolean lost;
    private boolean closed;
    /** The last forward's final hidden states of its {@code hiddenRows}, sent back by the last stage. */
    private float[][] lastHidden = new float[0][];

    /**
     * Opens the stream to the later stages: {@code connect} is given this stage's output and returns
     * the last stage's (it connects each stage to the one before on the way).
     */
    PipelineRunner(
            String name,
            StageModel local,
            int maxContext,
            PipelineSettings settings,
            int chunkBytes,
            Function<SourceRef<ByteString>, SourceRef<ByteString>> connect,
            Materializer materializer) {
        this.name = name;
        this.local = local;
        this.vocabSize = local.model().config().vocabSize();
        this.maxContext = maxContext;
        this.microBatches = settings.effectiveMicroBatches();
        this.f16 = settings.f16Wire();
        this.timeoutNanos = settings.stepTimeout().toNanos();
        Pair<BoundedSourceQueue<ByteString>, SourceRef<ByteString>> first = Source.<ByteString>queue(
                        2 * microBatches + 2)
                .via(StageLink.outgoing(chunkBytes))
                .toMat(StreamRefs.sourceRef(), Keep.both())
                .run(materializer);
        this.out = first.first();
        SourceRef<ByteString> last;
        try {
            last = connect.apply(first.second());
        } catch (RuntimeException e) {
            out.fail(e);
            throw e;
        }
        this.back = last.getSource().via(StageLink.incoming()).runWith(Sink.queue(), materializer);
    }

    PipelineStats stats() {
        return stats;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int maxContext() {
        return maxContext;
    }

    @Override
    public KvBlockStorage kvStorage() {
        return local.kv();
    }

    @Override
    public float[][] forward(ForwardBatch batch) {
        if (lost || closed) {
            throw new StageLost("pipeline " + name + " is " + (closed ? "closed" : "broken"), null);
        }
        long started = System.nanoTime();
        long id = ++step;
        List<MicroBatches.Part> parts = MicroBatches.split(batch, microBatches);
        long localNanos = 0;
        long bytesOut = 0;
        for (int p = 0; p < parts.size(); p++) {
            ForwardBatch part = parts.get(p).batch();
            long t0 = System.nanoTime();
            float[] hidden = local.hidden(part, null);
            long took = System.nanoTime() - t0;
            localNanos += took;
            ByteString frame = HiddenCodec.encodeStep(id, p, part, hidden, local.dim(), f16, took);
            bytesOut += frame.size();
            QueueOfferResult offered = out.offer(frame);
            if (offered != QueueOfferResult.enqueued()) {
                throw lose("the stream to the next stage took no more frames (" + offered + ")", null);
            }
        }
        float[][] logits = new float[batch.sampleRows().length][];
        float[][] hidden = new float[batch.hiddenRows().length][];
        long bytesBack = 0;
        long computeNanos = 0;
        for (int p = 0; p < parts.size(); p++) {
            ByteString frame = pull(started);
            bytesBack += frame.size();
            HiddenCodec.Result result = HiddenCodec.decodeResult(frame);
            if (result.step() != id || result.micro() != p) {
                throw lose(
                        "results out of order: step " + result.step() + " part " + result.micro() + ", expected " + id
                                + " part " + p,
                        null);
            }
            int[] origin = parts.get(p).sampleOrigin();
            for (int j = 0; j < origin.length; j++) {
                logits[origin[j]] = result.logits()[j];
            }
            int[] hiddenOrigin = parts.get(p).hiddenOrigin();
            for (int j = 0; j < hiddenOrigin.length && j < result.hidden().length; j++) {
                hidden[hiddenOrigin[j]] = result.hidden()[j];
            }
            computeNanos += result.computeNanos();
        }
        // A row the last stage did not send back (a stage of an older build) is left out, and the
        // engine ends the request that wanted it with an error rather than use a wrong vector.
        lastHidden = java.util.Arrays.stream(hidden).anyMatch(h -> h == null) ? new float[0][] : hidden;
        long wall = System.nanoTime() - started;
        stats.step(parts.size(), batch.size(), wall, localNanos, computeNanos, bytesOut, bytesBack);
        if (started - lastReport > REPORT_EVERY_NANOS) {
            lastReport = started;
            log.info("pipeline {}: {}", name, stats.summary());
        }
        return logits;
    }

    @Override
    public float[][] hidden() {
        float[][] out = lastHidden;
        lastHidden = new float[0][];
        return out;
    }

    private ByteString pull(long started) {
        long left = timeoutNanos - (System.nanoTime() - started);
        try {
            Optional<ByteString> next = back.pull().toCompletableFuture().get(Math.max(1, left), TimeUnit.NANOSECONDS);
            if (next.isEmpty()) {
                throw lose("the last stage's stream ended", null);
            }
            return next.get();
        } catch (TimeoutException e) {
            throw lose("no results within " + Duration.ofNanos(timeoutNanos).toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw lose("a stage failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw lose("interrupted", e);
        }
    }

    private StageLost lose(String why, Throwable cause) {
        lost = true;
        log.error("pipeline {} lost a stage: {}", name, why);
        return new StageLost("pipeline " + name + ": " + why, cause);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (stats.steps() > 0) {
                log.info("pipeline {} closing: {}", name, stats.summary());
            }
            try {
                out.complete();
                back.cancel();
            } catch (IllegalStateException alreadyEnded) {
                // The streams ended first (a lost stage, the system shutting down): nothing to end.
            }
            local.close();
        }
    }
}
