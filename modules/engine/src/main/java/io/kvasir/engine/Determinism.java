package io.kvasir.engine;

import io.kvasir.engine.tensor.GgmlType;
import java.util.Collection;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Whether every engine step computes each row as it would be computed alone ({@code
 * kvasir.node.deterministic}), so that a greedy or seeded request gives the same tokens whatever
 * shares its steps, whatever filled the prefix cache, and on whichever replica it resumes.
 *
 * <p>What it costs depends on the weights. Q8_0 kernels sum in one order for every batch shape, so
 * exact steps cost nothing measurable in decode there, and prefill about a tenth (its widened panel
 * kept in the blocks' order, {@code ExactPanel}: bench-110m, 512-token prompt, 2 threads, 1,079-1,099
 * against 1,173-1,245 tokens/s); for F16, BF16, Q4_0 and the K-quants the exact kernels
 * widen each weight group and run one chain per output, 2.2-3.7x slower for one sequence (JMH
 * {@code ExactMatmulBenchmark}, benchmarks.md). {@link #AUTO} therefore turns it on only where it is
 * (nearly) free: a user of a Q4_K_M model gets the fast kernels unless they ask for bitwise reproducibility
 * with {@link #ON}. This follows the serving engines that offer batch-invariant inference (vLLM,
 * SGLang) as an opt-in, except that the free case is on by default.
 */
public enum Determinism {
    /** Every step exact, whatever the weights cost. */
    ON,
    /** Steps take the fastest kernels, which sum in batch-dependent orders. */
    OFF,
    /** {@link #ON} for models whose matrices are all of a type where exact steps are free, else {@link #OFF}. */
    AUTO;

    /**
     * Weight types whose kernels already sum every batch shape in the exact order: Q8_0, F32, and
     * the 32-value block types that run on Q8_0's kernels (their offsets' pass sums in one order).
     */
    private static final Set<GgmlType> FREE =
            EnumSet.of(GgmlType.Q8_0, GgmlType.F32, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL);

    /** {@code on}, {@code off} or {@code auto} (also {@code true}/{@code false}, as HOCON writes booleans). */
    public static Determinism parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        return switch (t) {
            case "on", "true", "yes" -> ON;
            case "off", "false", "no" -> OFF;
            case "auto" -> AUTO;
            default ->
                throw new IllegalArgumentException(
                        "kvasir.node.deterministic must be on, off or auto, got '" + text + "'");
        };
    }

    /** ON or OFF for a model whose weight matrices have {@code matrixTypes}; ON and OFF stay as they are. */
    public Determinism resolve(Collection<GgmlType> matrixTypes) {
        if (this != AUTO) {
            return this;
        }
        return FREE.containsAll(matrixTypes) ? ON : OFF;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
