package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.model.ModelVariant.Activation;

/**
 * Reads a {@link ModelVariant} from a GGUF file's metadata, with the defaults llama.cpp applies
 * when a key is absent (they are what the converted files rely on), and refuses what Kvasir does
 * not compute rather than running it wrong.
 *
 * <p>Keys, under the architecture's prefix: {@code attention.sliding_window},
 * {@code attention.sliding_window_pattern} (a period {@code p}: layer {@code l} is windowed when
 * {@code l % p < p - 1}, so the last of each period is global; 0 windows every layer; or one
 * boolean per layer), {@code rope.freq_base_swa}, {@code attn_logit_softcapping},
 * {@code final_logit_softcapping}.
 */
final class VariantReader {

    /** Gemma 2's window and soft caps when its file does not state them. */
    private static final int GEMMA2_WINDOW = 4096;

    private static final float GEMMA2_ATTN_CAP = 50f;
    private static final float GEMMA2_FINAL_CAP = 30f;
    /** Gemma 3's local layers keep the original RoPE base unless the file names another. */
    private static final float GEMMA3_LOCAL_THETA = 10000f;

    private VariantReader() {}

    static ModelVariant read(
            GgufFile gguf, Architecture arch, int dim, int layers, int heads, int headDim, float theta, float scale) {
        refuseUnsupported(gguf, arch);
        String p = arch.ggufName() + ".";
        float plainScale = (float) (1.0 / Math.sqrt(headDim));
        return switch (arch) {
            case GEMMA2 -> {
                int window = (int) gguf.integer(p + "attention.sliding_window", GEMMA2_WINDOW);
                yield new ModelVariant(
                        (float) Math.sqrt(dim),
                        true,
                        false,
                        Activation.GELU_TANH,
                        gemmaQueryScale(layers == 46, dim, heads, headDim),
                        gguf.real(p + "attn_logit_softcapping", GEMMA2_ATTN_CAP),
                        gguf.real(p + "final_logit_softcapping", GEMMA2_FINAL_CAP),
                        window,
                        window > 0 ? pattern(gguf, p, layers, 2) : null,
                        gguf.real(p + "rope.freq_base_swa", theta),
                        scale);
            }
            case GEMMA3 -> {
                int window = (int) gguf.integer(p + "attention.sliding_window", 0);
                yield new ModelVariant(
                        (float) Math.sqrt(dim),
                        true,
                        true,
                        Activation.GELU_TANH,
                        gemmaQueryScale(layers == 62, dim, heads, headDim),
                        0f,
                        gguf.real(p + "final_logit_softcapping", 0f),
                        window,
                        window > 0 ? pattern(gguf, p, layers, 6) : null,
                        gguf.real(p + "rope.freq_base_swa", GEMMA3_LOCAL_THETA),
                        1f);
            }
            case LLAMA -> {
                // Mistral-style: one window for every layer. llama.cpp ignores this key for the
                // llama architecture; Kvasir honours it, so outputs differ past the window.
                int window = (int) gguf.integer(p + "attention.sliding_window", 0);
                boolean[] all = null;
                if (window > 0) {
                    all = new boolean[layers];
                    java.util.Arrays.fill(all, true);
                }
                yield new ModelVariant(
                        1f, false, false, Activation.SILU, plainScale, 0f, 0f, window, all, theta, scale);
            }
            // Phi-3 files carry attention.sliding_window too; llama.cpp runs them with full
            // attention (its windowed Phi path is disabled), and so does Kvasir, to match it.
            default -> ModelVariant.llama(headDim);
        };
    }

    /** Gemma's 27B models scale queries by the model width over heads, the others by the head size. */
    private static float gemmaQueryScale(boolean is27b, int dim, int heads, int headDim) {
        return (float) (1.0 / Math.sqrt(is27b ? (double) dim / heads : headDim));
    }

    private static boolean[] pattern(GgufFile gguf, String p, int layers, int defaultPeriod) {
        String key = p + "attention.sliding_window_pattern";
        Object raw = gguf.has(key) ? gguf.metadata().get(key) : null;
        boolean[] windowed = new boolean[layers];
        if (raw instanceof boolean[] flags) {
            if (flags.length != layers) {
                throw new ModelLoadException(
                        key + " has " + flags.length + " entries for a model of " + layers + " layers");
            }
            return flags.clone();
        }
        long period = raw instanceof Long l ? l : defaultPeriod;
        if (raw != null && !(raw instanceof Long)) {
            throw new ModelLoadException(key + " must be an integer period or one boolean per layer");
        }
        if (period < 0) {
            throw new ModelLoadException(key + " = " + period + " is negative");
        }
        for (int l = 0; l < layers; l++) {
            windowed[l] = period == 0 || l % period < period - 1;
        }
        return windowed;
    }

    private static void refuseUnsupported(GgufFile gguf, Architecture arch) {
        for (TensorInfo t : gguf.tensors()) {
            String n = t.name();
            if (n.startsWith("v.") || n.startsWith("mm.") || n.startsWith("mm_")) {
                throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + n
                        + " belongs to a vision projector, which Kvasir does not run (load the text model alone)");
            }
        }
        if (gguf.findTensor("rope_factors_long.weight").isPresent()
                || gguf.findTensor("rope_factors_short.weight").isPresent()) {
            throw new ModelLoadException(gguf.path().getFileName() + ": " + arch.ggufName()
                    + " LongRoPE scaling (rope_factors_long/short, the 128k-context models) is not supported");
        }
    }
}
