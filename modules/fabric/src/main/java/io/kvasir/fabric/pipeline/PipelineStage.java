package io.kvasir.fabric.pipeline;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.StreamRefs;
import akka.util.ByteString;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.fabric.CborSerializable;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A pipeline stage after the first: a sharded entity {@code <replica>#stage-<k>} that loads one
 * layer range of a model and runs it on every micro-batch that streams in from the stage before,
 * streaming hidden states (or, on the last stage, logits) out. Its KV store holds only its own
 * layers, at the block ids the first stage's scheduler chose (they come with every step). The
 * stage has no scheduler and no turns: the first stage drives it, and reconnects (or loads it
 * afresh) whenever it starts again; a new connection ends the old one.
 */
public final class PipelineStage extends AbstractBehavior<PipelineStage.Command> {

    public sealed interface Command {}

    /** Loads (or keeps, when already loaded alike) the layers {@code [layerStart, layerEnd)}. */
    public record Load(
            String path,
            int layerStart,
            int layerEnd,
            int kvBlocks,
            int blockSize,
            String kvPrecision,
            int maxContext,
            int threads,
            ActorRef<Reply> replyTo)
            implements Command, CborSerializable {}

    /** Runs the loaded layers on what {@code input} carries; answers with the stage's output. */
    public record Connect(SourceRef<ByteString> input, int chunkBytes, ActorRef<Reply> replyTo)
            implements Command, CborSerializable {}

    public enum Stop implements Command, CborSerializable {
        INSTANCE
    }

    public sealed interface Reply {}

    /** @param node where the stage runs */
    public record Ready(String node) implements Reply, CborSerializable {}

    public record Connected(SourceRef<ByteString> output) implements Reply, CborSerializable {}

    public record Failed(String reason) implements Reply, CborSerializable {}

    private record Loaded(Load request, String key, StageModel model, String error) implements Command {}

    private final ExecutorService thread;
    private final String name;
    private final String node;
    private StageModel model;
    private String loadedKey;
    private UniqueKillSwitch current;

    static Behavior<Command> create(String entityId) {
        return Behaviors.setup(ctx -> new PipelineStage(ctx, entityId));
    }

    private PipelineStage(ActorContext<Command> ctx, String entityId) {
        super(ctx);
        this.name = entityId;
        this.node = ctx.getSystem().address().toString();
        // One thread owns the layers: loads and forward passes never overlap, and no dispatcher
        // thread blocks on either.
        this.thread = Executors.newSingleThreadExecutor(Thread.ofPlatform()
                .name("kvasir-stage-" + entityId)
                .daemon(true)
                .factory());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Load.class, this::onLoad)
                .onMessage(Loaded.class, this::onLoaded)
                .onMessage(Connect.class, this::onConnect)
                .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                .onSignal(PostStop.class, signal -> onPostStop())
                .build();
    }

    private Behavior<Command> onLoad(Load load) {
        String key = String.join(
                "|",
                load.path(),
                Integer.toString(load.layerStart()),
                Integer.toString(load.layerEnd()),
                Integer.toString(load.kvBlocks()),
                Integer.toString(load.blockSize()),
                load.kvPrecision());
        if (key.equals(loadedKey) && model != null) {
            // The first stage starts again (after a failure elsewhere): the layers stay, and the
            // KV they hold is never read before the new first stage writes it.
            cutCurrent();
            load.replyTo().tell(new Ready(node));
            return this;
        }
        cutCurrent();
        StageModel old = model;
        model = null;
        loadedKey = null;
        CompletableFuture<StageModel> loading = CompletableFuture.supplyAsync(
                () -> {
                    if (old != null) {
                        old.close();
                    }
                    EngineOptions options = EngineOptions.defaults()
                            .withKvPrecision(KvPrecision.valueOf(load.kvPrecision()))
                            .withKvBlocks(load.kvBlocks())
                            .withBlockSize(load.blockSize())
                            .withMaxContext(load.maxContext());
                    if (load.threads() > 0) {
                        options = options.withThreads(load.threads());
                    }
                    return StageModel.open(Path.of(load.path()), options, load.layerStart(), load.layerEnd());
                },
                thread);
        getContext()
                .pipeToSelf(
                        loading, (m, failure) -> new Loaded(load, key, m, failure == null ? null : reason(failure)));
        return this;
    }

    private Behavior<Command> onLoaded(Loaded loaded) {
        if (loaded.error() != null) {
            getContext().getLog().error("pipeline stage {} failed to load on {}: {}", name, node, loaded.error());
            loaded.request().replyTo().tell(new Failed("stage " + name + " on " + node + ": " + loaded.error()));
            return this;
        }
        model = loaded.model();
        loadedKey = loaded.key();
        getContext()
                .getLog()
                .info(
                        "pipeline stage {} ready on {}: layers [{}, {})",
                        name,
                        node,
                        loaded.request().layerStart(),
                        loaded.request().layerEnd());
        loaded.request().replyTo().tell(new Ready(node));
        return this;
    }

    private Behavior<Command> onConnect(Connect connect) {
        if (model == null) {
            connect.replyTo().tell(new Failed("stage " + name + " on " + node + " is not loaded"));
            return this;
        }
        cutCurrent();
        StageModel stage = model;
        Pair<UniqueKillSwitch, SourceRef<ByteString>> run = connect.input()
                .getSource()
                .viaMat(KillSwitches.single(), Keep.right())
                .via(StageLink.incoming())
                .mapAsync(1, frame -> CompletableFuture.supplyAsync(() -> process(stage, frame), thread))
                .via(StageLink.outgoing(connect.chunkBytes()))
                .toMat(StreamRefs.sourceRef(), Keep.both())
                .run(Materializer.matFromSystem(getContext().getSystem()));
        current = run.first();
        connect.replyTo().tell(new Connected(run.second()));
        return this;
    }

    /** One micro-batch through this stage's layers; runs on the stage thread. */
    private static ByteString process(StageModel stage, ByteString frame) {
        HiddenCodec.Step step = HiddenCodec.decodeStep(frame);
        long start = System.nanoTime();
        if (stage.last()) {
            float[][] logits = stage.logits(step.batch(), step.hidden());
            // An embedding's rows: the final normed hidden states go back with the logits.
            float[][] hidden = step.batch().hiddenRows().length == 0
                    ? new float[0][]
                    : stage.model().takeHidden();
            long took = System.nanoTime() - start;
            return HiddenCodec.encodeResult(step.step(), step.micro(), logits, step.upstreamNanos() + took, hidden);
        }
        float[] hidden = stage.hidden(step.batch(), step.hidden());
        long took = System.nanoTime() - start;
        return HiddenCodec.encodeStep(
                step.step(), step.micro(), step.batch(), hidden, stage.dim(), step.f16(), step.upstreamNanos() + took);
    }

    private void cutCurrent() {
        if (current != null) {
            current.shutdown();
            current = null;
        }
    }

    private Behavior<Command> onPostStop() {
        cutCurrent();
        StageModel m = model;
        model = null;
        thread.execute(() -> {
            if (m != null) {
                m.close();
            }
        });
        thread.shutdown();
        return this;
    }

    private static String reason(Throwable t) {
        Throwable cause =
                t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause.getMessage() != null ? cause.getMessage() : cause.toString();
    }
}
