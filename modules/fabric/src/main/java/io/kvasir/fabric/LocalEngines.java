package io.kvasir.fabric;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.sim.SimulatedEngine;
import io.kvasir.engine.sim.SimulatedModel;
import io.kvasir.engine.sim.TimingModel;

/**
 * The engines behind model shards in one process: each replica of a real model maps its GGUF file
 * and runs its own {@link io.kvasir.engine.core.EngineCore}; a model configured with
 * {@code simulated = true} gets a {@link SimulatedEngine} instead (labelled as simulated: it paces
 * tokens on a timing model and never claims inference). What {@code ./kvasir serve} uses, and what
 * an embedding application passes to {@link Kvasir#start} unless it brings its own factory.
 */
public final class LocalEngines {

    private LocalEngines() {}

    /** Default engine options (one compute thread per core) and the default simulated timing. */
    public static EngineFactory factory() {
        return factory(EngineOptions.defaults(), TimingModel.defaults());
    }

    /**
     * @param base   engine options for real models; each model's KV pool and context limit come
     *               from its settings
     * @param timing how a simulated model paces its steps
     */
    public static EngineFactory factory(EngineOptions base, TimingModel timing) {
        return new EngineFactory() {
            @Override
            public io.kvasir.engine.ServedModel load(ModelSettings model, ReplicaId replica) {
                return LocalEngines.load(base, timing, model, replica);
            }

            @Override
            public void check(ModelSettings model, boolean hostsReplicas) {
                ModelFileCheck.check(model, hostsReplicas);
            }
        };
    }

    private static io.kvasir.engine.ServedModel load(
            EngineOptions base, TimingModel timing, ModelSettings model, ReplicaId replica) {
        if (model.simulated()) {
            SimulatedEngine.Config sim = SimulatedEngine.Config.defaults()
                    .withTiming(timing)
                    .withMaxContext(model.maxModelLength())
                    .withKvBlocks(model.kvCacheBlocks())
                    .withBlockSize(model.kvBlockSize())
                    .withSeed(replica.index())
                    .withLongPrefill(model.longPrefillThreshold(), model.longPrefillShare());
            return new SimulatedModel(model.id(), sim);
        }
        // A hub model is fetched here, by the node that hosts the replica, into its own cache.
        return LocalModel.open(ModelLocator.resolve(model.path()), options(base, model));
    }

    /**
     * {@code base} with the model's KV and scheduling settings: what a whole replica runs with, and
     * each pipeline stage too.
     */
    public static EngineOptions options(EngineOptions base, ModelSettings model) {
        return base.withKvPrecision(KvPrecision.valueOf(model.kvPrecision()))
                .withKvBlocks(model.kvCacheBlocks())
                .withBlockSize(model.kvBlockSize())
                .withMaxContext(model.maxModelLength())
                .withMaxBatchTokens(model.maxBatchTokens())
                .withMaxNumSeqs(model.maxNumSeqs())
                .withLongPrefillThreshold(model.longPrefillThreshold())
                .withLongPrefillShare(model.longPrefillShare());
    }
}
