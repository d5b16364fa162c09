package io.kvasir.engine.model;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.core.ModelRunner;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.kv.KvBlockStorage;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import java.nio.file.Path;

/**
 * A whole Llama-family model behind the {@link ModelRunner} contract. It owns the file mapping the
 * weights point into, the compute threads and the KV store; closing it releases all three, after
 * which the model must not run again.
 */
public final class LlamaRunner implements ModelRunner {

    private final GgufFile gguf;
    private final ComputePool pool;
    private final LlamaModel model;
    private boolean closed;

    private LlamaRunner(GgufFile gguf, ComputePool pool, LlamaModel model) {
        this.gguf = gguf;
        this.pool = pool;
        this.model = model;
    }

    /**
     * Maps {@code path} and loads every layer, on {@link EngineOptions#effectiveThreads} compute
     * threads and with the KV store {@code options} describe; a file it cannot run is a
     * {@link ModelLoadException}.
     */
    public static LlamaRunner open(Path path, EngineOptions options) {
        GgufFile gguf = GgufFile.open(path);
        ComputePool pool = null;
        try {
            pool = ComputePools.create(options.effectiveThreads());
            return new LlamaRunner(gguf, pool, LlamaModel.load(gguf, pool, options));
        } catch (RuntimeException | Error e) {
            if (pool != null) {
                pool.close();
            }
            gguf.close();
            throw e;
        }
    }

    public LlamaModel model() {
        return model;
    }

    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int vocabSize() {
        return model.config().vocabSize();
    }

    @Override
    public int maxContext() {
        return model.config().contextLength();
    }

    @Override
    public KvBlockStorage kvStorage() {
        return model.kvStore();
    }

    @Override
    public int slidingWindow() {
        return model.config().variant().uniformWindow(model.config().blockCount());
    }

    @Override
    public float[][] forward(ForwardBatch batch) {
        if (closed) {
            throw new IllegalStateException("runner for " + gguf.path().getFileName() + " is closed");
        }
        return model.forward(batch);
    }

    @Override
    public float[][] hidden() {
        return model.takeHidden();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            pool.close();
            gguf.close();
        }
    }
}
