package io.kvasir.fabric.pipeline;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.KvStore;
import io.kvasir.engine.model.LlamaModel;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import java.nio.file.Path;

/**
 * One stage's layers of a model, mapped from the GGUF file on this node, with the KV store of
 * those layers alone and its own compute threads. Not thread-safe: one thread runs it.
 */
final class StageModel implements AutoCloseable {

    private final GgufFile gguf;
    private final ComputePool pool;
    private final LlamaModel model;

    private StageModel(GgufFile gguf, ComputePool pool, LlamaModel model) {
        this.gguf = gguf;
        this.pool = pool;
        this.model = model;
    }

    /** Loads layers {@code [layerStart, layerEnd)} of {@code path} with the KV shape {@code options} give. */
    static StageModel open(Path path, EngineOptions options, int layerStart, int layerEnd) {
        GgufFile gguf = GgufFile.open(path);
        ComputePool pool = null;
        try {
            pool = ComputePools.create(options.effectiveThreads());
            return new StageModel(gguf, pool, LlamaModel.load(gguf, pool, options, layerStart, layerEnd));
        } catch (RuntimeException | Error e) {
            if (pool != null) {
                pool.close();
            }
            gguf.close();
            throw e;
        }
    }

    LlamaModel model() {
        return model;
    }

    KvStore kv() {
        return model.kvStore();
    }

    int dim() {
        return model.config().dim();
    }

    /** Hidden states out of this stage's layers; {@code hiddenIn} null on the first stage. */
    float[] hidden(ForwardBatch batch, float[] hiddenIn) {
        return model.forwardHidden(batch, hiddenIn);
    }

    /** Logits for the sampled rows (the last stage). */
    float[][] logits(ForwardBatch batch, float[] hiddenIn) {
        return model.forward(batch, hiddenIn);
    }

    boolean last() {
        return model.isLastStage();
    }

    @Override
    public void close() {
        pool.close();
        gguf.close();
    }
}
