package io.kvasir.engine.model;

import io.kvasir.engine.gguf.ErrorText;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The GGUF {@code general.architecture} values Kvasir runs, and how they differ. */
public enum Architecture {
    LLAMA("llama", RopeStyle.ADJACENT, false),
    QWEN2("qwen2", RopeStyle.NEOX, true),
    // The Gemma, Phi-3 and Qwen3 differences beyond these three are read into a ModelVariant.
    GEMMA2("gemma2", RopeStyle.NEOX, false),
    GEMMA3("gemma3", RopeStyle.NEOX, false),
    PHI3("phi3", RopeStyle.NEOX, false),
    QWEN3("qwen3", RopeStyle.NEOX, false),
    QWEN3MOE("qwen3moe", RopeStyle.NEOX, false);

    private final String ggufName;
    private final RopeStyle ropeStyle;
    private final boolean qkvBias;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean qkvBias) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
    }

    /** The name used in the file and as the prefix of its metadata keys. */
    public String ggufName() {
        return ggufName;
    }

    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    /** Whether the Q, K and V projections carry bias vectors. */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether each query and key head is RMS-normalised (its own weights per layer) before RoPE. */
    public boolean qkNorm() {
        return this == QWEN3 || this == QWEN3MOE;
    }

    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new ModelLoadException("unsupported model architecture " + ErrorText.quote(name) + " (supported: "
                + Arrays.stream(values()).map(Architecture::ggufName).collect(Collectors.joining(", ")) + ")");
    }
}
