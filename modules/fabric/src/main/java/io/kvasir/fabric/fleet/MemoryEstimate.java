package io.kvasir.fabric.fleet;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.KvStore;
import io.kvasir.engine.model.ModelConfig;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.ModelSettings;

/**
 * What one replica of a model holds in memory once loaded, told from its GGUF header and its
 * settings without loading it: the fleet places replicas on these figures.
 *
 * @param fileBytes  the weights as stored in the file (tensor data)
 * @param repacked   matrices the engine repacks once into native copies (every type but F32: rows
 *                   padded to whole lane groups, K-quant blocks widened: Q4_K 2.8% and Q5_K 57%
 *                   larger than in the file; Q4_1, Q5_0, Q5_1 and IQ4_NL as Q8_0, 34 bytes per 32
 *                   values)
 * @param mapped     F32 matrices, read in place from the file's mapping (resident once touched)
 * @param vectors    1-D tensors (norms, biases), dequantized to float arrays on the heap
 * @param kvPool     the paged KV cache on the heap: blocks x block size x layers x kv dim x 2 (K
 *                   and V) x the KV precision's bytes, all allocated when the replica loads
 * @param configured true when the figure is the model's {@code memory} setting, not computed (the
 *                   whole figure is then in {@code repacked}, the rest zero)
 */
public record MemoryEstimate(long fileBytes, long repacked, long mapped, long vectors, long kvPool, boolean configured)
        implements CborSerializable {

    /** The weights as the engine keeps them. */
    public long weights() {
        return repacked + mapped + vectors;
    }

    public long total() {
        return weights() + kvPool;
    }

    /** The figure a model's {@code memory} setting gives (a simulated model has no file to read). */
    public static MemoryEstimate configured(long bytes) {
        return new MemoryEstimate(0, bytes, 0, 0, 0, true);
    }

    /**
     * Reads the header of {@code model}'s GGUF (the file is mapped, only its header pages are read).
     *
     * @throws RuntimeException (the engine's GGUF or load exception) naming the file and the problem
     */
    public static MemoryEstimate of(ModelSettings model) {
        return of(model, io.kvasir.engine.hub.ModelLocator::local);
    }

    /**
     * @param local the file a configured location is now, without fetching it (a hub model is
     *              read from the cache the loader fills; empty when it is not there yet)
     */
    static MemoryEstimate of(
            ModelSettings model,
            java.util.function.Function<java.nio.file.Path, java.util.Optional<java.nio.file.Path>> local) {
        java.nio.file.Path ggufFile = local.apply(model.path()).orElseThrow(() -> new NotDownloaded(model));
        try (GgufFile gguf = GgufFile.open(ggufFile)) {
            ModelConfig config = ModelConfig.read(gguf);
            long file = 0;
            long repacked = 0;
            long mapped = 0;
            long vectors = 0;
            for (TensorInfo t : gguf.tensors()) {
                file += t.byteSize();
                if (t.rank() == 2 && t.type() == GgmlType.F32) {
                    mapped += t.byteSize();
                } else if (t.rank() == 2 && t.type() != null) {
                    repacked += WeightMatrices.residentBytes(t.type(), t.dim(1), t.dim(0));
                } else {
                    vectors += 4L * t.elements();
                }
            }
            long kv = KvStore.bytesFor(
                    model.kvCacheBlocks(),
                    model.kvBlockSize(),
                    config.blockCount(),
                    config.kvDim(),
                    KvPrecision.valueOf(model.kvPrecision()));
            return new MemoryEstimate(file, repacked, mapped, vectors, kv, false);
        }
    }

    /**
     * A hub model no node of this one has fetched yet: its header cannot be read until a replica's
     * load downloads it, and the fleet places no replica it cannot size, so the words say how out.
     */
    static final class NotDownloaded extends RuntimeException {
        NotDownloaded(ModelSettings model) {
            super(io.kvasir.engine.hub.ModelLocator.describe(model.path()) + " is not downloaded yet (it is sized"
                    + " from its GGUF header once it is in this node's cache; set the model's memory to place it"
                    + " before)");
        }
    }

    /** Why {@code model} could not be sized, for the fleet's view and its log. */
    static String unreadable(ModelSettings model, RuntimeException e) {
        return e instanceof NotDownloaded
                ? e.getMessage()
                : "cannot read " + io.kvasir.engine.hub.ModelLocator.describe(model.path()) + ": " + e.getMessage();
    }

    /** {@code 1.5 GiB}, {@code 300.0 MiB}: how budgets and estimates are shown. */
    public static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(java.util.Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(java.util.Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
}
