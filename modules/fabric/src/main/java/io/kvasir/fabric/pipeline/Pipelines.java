package io.kvasir.fabric.pipeline;

import akka.actor.typed.ActorSystem;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.ShardingMessageExtractor;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.cluster.typed.Cluster;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.util.ByteString;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.ServedModel;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.ModelConfig;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.StreamSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pipeline-parallel replicas. A decode replica of a model with {@code pipeline-stages = N > 1} is
 * the pipeline's first stage: its {@link io.kvasir.fabric.shard.ModelShard} hosts an ordinary
 * engine (scheduler, prefix cache, sampling, streams) whose forward passes run the first layer range
 * here and the rest on {@link PipelineStage} entities {@code <replica>#stage-<k>}, sharded on the
 * decode role and placed apart by {@link StageAllocation}. Everything a replica does for its turns
 * (sessions, backpressure, cancel, drain, resume) is the replica's as before; a lost stage stops the
 * whole replica, so its turns resume through the usual path.
 */
public final class Pipelines {

    private static final Logger log = LoggerFactory.getLogger(Pipelines.class);

    public static final EntityTypeKey<PipelineStage.Command> STAGE =
            EntityTypeKey.create(PipelineStage.Command.class, "PipelineStage");

    /** Loading a stage maps its layers and allocates its KV: seconds, or a minute for a big file on a slow disk. */
    private static final Duration LOAD_TIMEOUT = Duration.ofMinutes(3);

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);

    private Pipelines() {}

    /**
     * Starts the stage entities' sharding when a model is pipelined, and returns the factory the
     * replicas load with: {@code factory} for every model but the pipelined ones.
     *
     * @throws IllegalArgumentException for bad pipeline settings (the node does not start)
     */
    public static EngineFactory init(ActorSystem<?> system, KvasirSettings settings, EngineFactory factory) {
        Map<String, PipelineSettings> pipelines =
                PipelineSettings.all(system.settings().config(), settings.models());
        if (pipelines.values().stream().noneMatch(PipelineSettings::pipelined)) {
            return factory;
        }
        ClusterSharding.get(system)
                .init(Entity.of(STAGE, ctx -> PipelineStage.create(ctx.getEntityId()))
                        .withRole(ModelSettings.DECODE)
                        .withMessageExtractor(new OwnShard())
                        .withAllocationStrategy(new StageAllocation(() -> decodeNodesUp(system), System::nanoTime))
                        .withStopMessage(PipelineStage.Stop.INSTANCE)
                        .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
        // The most decode nodes this node has seen up at once (see awaitNodes).
        AtomicInteger mostSeen = new AtomicInteger();
        return (model, replica) -> {
            PipelineSettings pipeline = pipelines.getOrDefault(model.id(), PipelineSettings.NONE);
            if (!pipeline.pipelined() || !replica.pool().equals(ModelSettings.DECODE)) {
                return factory.load(model, replica);
            }
            return load(system, settings, model, replica, pipeline, mostSeen);
        };
    }

    /** Every stage its own shard, so that each is placed on its own (see {@link StageAllocation}). */
    private static final class OwnShard
            extends ShardingMessageExtractor<ShardingEnvelope<PipelineStage.Command>, PipelineStage.Command> {
        @Override
        public String entityId(ShardingEnvelope<PipelineStage.Command> envelope) {
            return envelope.entityId();
        }

        @Override
        public String shardId(String entityId) {
            return entityId;
        }

        @Override
        public PipelineStage.Command unwrapMessage(ShardingEnvelope<PipelineStage.Command> envelope) {
            return envelope.message();
        }
    }

    /** The stages' engine options: the model's KV and scheduling settings, as for a whole replica. */
    static EngineOptions options(ModelSettings model) {
        return io.kvasir.fabric.LocalEngines.options(EngineOptions.defaults(), model);
    }

    /** Loads a pipelined replica; runs on the replica's engine thread, so it may block. */
    private static ServedModel load(
            ActorSystem<?> system,
            KvasirSettings settings,
            ModelSettings model,
            ReplicaId replica,
            PipelineSettings pipeline,
            AtomicInteger mostSeen)
            throws Exception {
        int[] bounds;
        ModelConfig config;
        try (GgufFile gguf = GgufFile.open(model.path())) {
            config = ModelConfig.read(gguf);
            bounds = LayerSplit.bounds(
                    model.id(),
                    pipeline.stages(),
                    pipeline.split(),
                    LayerSplit.layerBytes(gguf, config.blockCount()),
                    LayerSplit.outputBytes(gguf));
        }
        EngineOptions options = options(model);
        awaitNodes(system, mostSeen, pipeline.stages(), pipeline.placementWait());
        String name = replica.entityId();
        List<EntityRef<PipelineStage.Command>> stages = new ArrayList<>();
        List<String> nodes = new ArrayList<>();
        nodes.add(system.address().toString());
        for (int k = 1; k < pipeline.stages(); k++) {
            EntityRef<PipelineStage.Command> stage =
                    ClusterSharding.get(system).entityRefFor(STAGE, name + "#stage-" + k);
            int start = bounds[k];
            int end = bounds[k + 1];
            PipelineStage.Reply reply = await(
                    stage.ask(
                            replyTo -> new PipelineStage.Load(
                                    model.path().toString(),
                                    start,
                                    end,
                                    model.kvCacheBlocks(),
                                    model.kvBlockSize(),
                                    model.kvPrecision(),
                                    model.maxModelLength(),
                                    0,
                                    replyTo),
                            LOAD_TIMEOUT),
                    LOAD_TIMEOUT,
                    "stage " + k + " to load");
            if (reply instanceof PipelineStage.Ready ready) {
                nodes.add(ready.node());
            } else {
                throw new ModelLoadException(failure(reply));
            }
            stages.add(stage);
        }
        log.info("pipeline {}: {} stages, layers {}, on {}", name, pipeline.stages(), Arrays.toString(bounds), nodes);
        Materializer materializer = Materializer.matFromSystem(system);
        return LocalModel.open(model.path(), options, () -> {
            StageModel first = StageModel.open(model.path(), options, 0, bounds[1]);
            try {
                return new PipelineRunner(
                        name,
                        first,
                        config.contextLength(),
                        pipeline,
                        settings.kvChunkBytes(),
                        output -> connect(stages, output, settings.kvChunkBytes()),
                        materializer);
            } catch (RuntimeException e) {
                first.close();
                throw e;
            }
        });
    }

    /** Connects each stage to the one before; returns the last stage's output. */
    private static SourceRef<ByteString> connect(
            List<EntityRef<PipelineStage.Command>> stages, SourceRef<ByteString> firstOutput, int chunkBytes) {
        SourceRef<ByteString> previous = firstOutput;
        int k = 1;
        for (EntityRef<PipelineStage.Command> stage : stages) {
            SourceRef<ByteString> input = previous;
            PipelineStage.Reply reply = await(
                    stage.ask(replyTo -> new PipelineStage.Connect(input, chunkBytes, replyTo), CONNECT_TIMEOUT),
                    CONNECT_TIMEOUT,
                    "stage " + k + " to connect");
            if (!(reply instanceof PipelineStage.Connected connected)) {
                throw new ModelLoadException(failure(reply));
            }
            previous = connected.output();
            k++;
        }
        return previous;
    }

    /**
     * Until this node has once seen as many decode nodes up as there are stages, waits up to {@code
     * wait} for them, so that a cluster that is still forming does not put every stage on the first
     * node to come up. Once it has (a pipeline started again after losing a node), it places its
     * stages on what there is at once.
     */
    private static void awaitNodes(ActorSystem<?> system, AtomicInteger mostSeen, int wanted, Duration wait)
            throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (mostSeen.get() < wanted) {
            int up = decodeNodesUp(system);
            mostSeen.accumulateAndGet(up, Math::max);
            if (up >= wanted) {
                return;
            }
            if (System.nanoTime() > deadline) {
                log.info("pipeline of {} stages on {} decode nodes: some stages share a node", wanted, up);
                return;
            }
            Thread.sleep(100);
        }
    }

    private static int decodeNodesUp(ActorSystem<?> system) {
        return (int)
                StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
                        .filter(m -> m.status() == MemberStatus.up() && m.hasRole(ModelSettings.DECODE))
                        .count();
    }

    private static <T> T await(java.util.concurrent.CompletionStage<T> stage, Duration timeout, String what) {
        try {
            return stage.toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new ModelLoadException(
                    "pipeline: no answer from " + what + " within " + timeout.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("pipeline: interrupted waiting for " + what, e);
        }
    }

    private static String failure(PipelineStage.Reply reply) {
        return reply instanceof PipelineStage.Failed f ? f.reason() : "unexpected answer " + reply;
    }
}
