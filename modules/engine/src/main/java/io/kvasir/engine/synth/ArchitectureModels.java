package io.kvasir.engine.synth;

import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Synthetic models of the architectures beyond plain Llama (Gemma 2, Gemma 3, Phi-3, Mistral-style
 * sliding windows), written with the metadata keys and tensor names llama.cpp's converter gives
 * real ones, so that llama.cpp and Kvasir can both run them and their greedy outputs be compared.
 * Weights are drawn as in {@link SyntheticModel} (same seeding, N(0, 0.02), norms 1.0).
 *
 * <p>The tiny presets are shaped to exercise what sets each family apart, not to resemble a real
 * model's size: windows of 16 tokens so a short generation crosses them, Gemma 3 with a head
 * wider than {@code dim / heads} and a global RoPE scale its local layers must ignore, Phi-3 with
 * partial rotary dimensions. The {@code -bench} presets are about the size of {@code bench-110m}.
 *
 * @param name           the preset's name ({@code make-model --preset})
 * @param arch           {@code general.architecture}
 * @param base           shape, type, seed and vocabulary
 * @param headDim        {@code attention.key_length} (written when it differs from dim / heads)
 * @param ropeDim        {@code rope.dimension_count}
 * @param ropeTheta      {@code rope.freq_base}
 * @param ropeThetaLocal {@code rope.freq_base_swa}; 0 to leave it out
 * @param ropeScale      linear {@code rope.scaling.factor}; 0 to leave it out
 * @param window         {@code attention.sliding_window}; 0 to leave it out
 * @param windowPattern  {@code attention.sliding_window_pattern}; negative to leave it out
 * @param attnSoftCap    {@code attn_logit_softcapping}; 0 to leave it out
 * @param finalSoftCap   {@code final_logit_softcapping}; 0 to leave it out
 */
public record ArchitectureModels(
        String name,
        String arch,
        Spec base,
        int headDim,
        int ropeDim,
        float ropeTheta,
        float ropeThetaLocal,
        float ropeScale,
        int window,
        int windowPattern,
        float attnSoftCap,
        float finalSoftCap) {

    private static final Spec TINY = new Spec(128, 4, 4, 2, 384, 512, 1024, GgmlType.Q8_0, 42, true, null, 10000f);
    private static final Spec BENCH =
            new Spec(768, 12, 12, 4, 2048, 32000, 2048, GgmlType.Q8_0, 42, true, null, 10000f);

    /** The presets this class writes. */
    public static List<String> presetNames() {
        return List.of(
                "gemma2-tiny",
                "gemma3-tiny",
                "phi3-tiny",
                "mistral-swa-tiny",
                "gemma2-bench",
                "gemma3-bench",
                "phi3-bench",
                "mistral-swa-bench");
    }

    public static boolean isPreset(String name) {
        return presetNames().contains(name);
    }

    /** The preset called {@code name}, one of {@link #presetNames()}. */
    public static ArchitectureModels preset(String name) {
        boolean bench = name.endsWith("-bench");
        Spec s = bench ? BENCH : TINY;
        int hd = s.dim() / s.heads();
        int window = bench ? 512 : 16;
        return switch (name) {
            case "gemma2-tiny", "gemma2-bench" ->
                // Caps small enough to bend the tiny model's scores, where Gemma 2's 50 would not.
                new ArchitectureModels(name, "gemma2", s, hd, hd, 10000f, 0f, 0f, window, -1, bench ? 50f : 1f, 30f);
            case "gemma3-tiny", "gemma3-bench" ->
                new ArchitectureModels(
                        name,
                        "gemma3",
                        withLayers(s, bench ? 12 : 6),
                        bench ? hd : 2 * hd,
                        bench ? hd : 2 * hd,
                        1_000_000f,
                        10000f,
                        8f,
                        window,
                        6,
                        0f,
                        0f);
            case "phi3-tiny", "phi3-bench" ->
                new ArchitectureModels(
                        name, "phi3", s.withTiedOutput(false), hd, hd * 3 / 4, 10000f, 0f, 0f, window, -1, 0f, 0f);
            case "mistral-swa-tiny", "mistral-swa-bench" ->
                new ArchitectureModels(
                        name, "llama", s.withTiedOutput(false), hd, hd, 10000f, 0f, 0f, window, -1, 0f, 0f);
            default ->
                throw new IllegalArgumentException(
                        "unknown synthetic model preset '" + name + "'; known: " + presetNames());
        };
    }

    private static Spec withLayers(Spec s, int layers) {
        return new Spec(
                s.dim(),
                layers,
                s.heads(),
                s.kvHeads(),
                s.ffn(),
                s.vocabSize(),
                s.contextLength(),
                s.type(),
                s.seed(),
                s.tiedOutput(),
                s.vocabFrom(),
                s.ropeTheta());
    }

    /** This preset over another shape, type or seed (what {@code make-model}'s flags override). */
    public ArchitectureModels withBase(Spec spec) {
        int hd = headDim == base.headDim() ? spec.headDim() : headDim;
        int rd = ropeDim == headDim ? hd : ropeDim;
        return new ArchitectureModels(
                name,
                arch,
                spec,
                hd,
                rd,
                ropeTheta,
                ropeThetaLocal,
                ropeScale,
                window,
                windowPattern,
                attnSoftCap,
                finalSoftCap);
    }

    public ArchitectureModels withWindow(int w, int pattern) {
        return new ArchitectureModels(
                name,
                arch,
                base,
                headDim,
                ropeDim,
                ropeTheta,
                ropeThetaLocal,
                ropeScale,
                w,
                pattern,
                attnSoftCap,
                finalSoftCap);
    }

    /** Writes the model to {@code out}. */
    public void write(Path out) {
        Spec s = base;
        String p = arch + ".";
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putString(
                "general.name",
                // No family name in it: llama.cpp keys tokenizer fix-ups on names such as "phi3".
                String.format(
                        Locale.ROOT,
                        "kvasir-synthetic-%dd-%dl-%s",
                        s.dim(),
                        s.layers(),
                        s.type().name().toLowerCase(Locale.ROOT)));
        w.putString("general.description", SyntheticModel.DESCRIPTION);
        w.putUInt32("general.file_type", SyntheticModel.fileType(s.type()));
        w.putBool("kvasir.synthetic", true);
        w.putUInt64("kvasir.synthetic.seed", s.seed());
        int vocab = s.vocabFrom() == null
                ? SyntheticModel.builtinVocabulary(w, s.vocabSize())
                : SyntheticModel.copyVocabulary(w, s.vocabFrom());
        w.putUInt32(p + "context_length", s.contextLength());
        w.putUInt32(p + "embedding_length", s.dim());
        w.putUInt32(p + "block_count", s.layers());
        w.putUInt32(p + "feed_forward_length", s.ffn());
        w.putUInt32(p + "attention.head_count", s.heads());
        w.putUInt32(p + "attention.head_count_kv", s.kvHeads());
        if (headDim != s.dim() / s.heads()) {
            w.putUInt32(p + "attention.key_length", headDim);
            w.putUInt32(p + "attention.value_length", headDim);
        }
        w.putUInt32(p + "rope.dimension_count", ropeDim);
        w.putFloat32(p + "rope.freq_base", ropeTheta);
        if (ropeThetaLocal > 0) {
            w.putFloat32(p + "rope.freq_base_swa", ropeThetaLocal);
        }
        if (ropeScale > 0) {
            w.putString(p + "rope.scaling.type", "linear");
            w.putFloat32(p + "rope.scaling.factor", ropeScale);
        }
        w.putFloat32(p + "attention.layer_norm_rms_epsilon", arch.startsWith("gemma") ? 1e-6f : 1e-5f);
        if (window > 0) {
            w.putUInt32(p + "attention.sliding_window", window);
        }
        if (windowPattern >= 0) {
            w.putUInt32(p + "attention.sliding_window_pattern", windowPattern);
        }
        if (attnSoftCap > 0) {
            w.putFloat32(p + "attn_logit_softcapping", attnSoftCap);
        }
        if (finalSoftCap > 0) {
            w.putFloat32(p + "final_logit_softcapping", finalSoftCap);
        }
        if (arch.startsWith("gemma") && s.vocabFrom() == null) {
            // Gemma's own turn markup, so the chat path runs on these files as on a real Gemma.
            w.putString("tokenizer.chat_template", GEMMA_TEMPLATE);
        }
        tensors(w, vocab);
        w.write(out);
    }

    /** Gemma's chat template in the shape Google publishes it: no system role, assistant turns as "model". */
    static final String GEMMA_TEMPLATE = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
            + "{% set prefix = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
            + "{% else %}{% set prefix = '' %}{% set loop_messages = messages %}{% endif %}"
            + "{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
            + "{% endif %}{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') }}"
            + "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";

    private void tensors(GgufWriter w, int vocab) {
        Spec s = base;
        int dim = s.dim();
        int qDim = s.heads() * headDim;
        int kvDim = s.kvHeads() * headDim;
        SyntheticModel.matrix(w, s, "token_embd.weight", dim, vocab);
        SyntheticModel.norm(w, "output_norm.weight", dim);
        if (!s.tiedOutput()) {
            SyntheticModel.matrix(w, s, "output.weight", dim, vocab);
        }
        boolean phi = arch.equals("phi3");
        boolean gemma = arch.startsWith("gemma");
        for (int l = 0; l < s.layers(); l++) {
            String b = "blk." + l + ".";
            SyntheticModel.norm(w, b + "attn_norm.weight", dim);
            if (phi) {
                SyntheticModel.matrix(w, s, b + "attn_qkv.weight", dim, qDim + 2 * kvDim);
            } else {
                SyntheticModel.matrix(w, s, b + "attn_q.weight", dim, qDim);
                SyntheticModel.matrix(w, s, b + "attn_k.weight", dim, kvDim);
                SyntheticModel.matrix(w, s, b + "attn_v.weight", dim, kvDim);
            }
            if (arch.equals("gemma3")) {
                SyntheticModel.norm(w, b + "attn_q_norm.weight", headDim);
                SyntheticModel.norm(w, b + "attn_k_norm.weight", headDim);
            }
            SyntheticModel.matrix(w, s, b + "attn_output.weight", qDim, dim);
            if (gemma) {
                SyntheticModel.norm(w, b + "post_attention_norm.weight", dim);
            }
            SyntheticModel.norm(w, b + "ffn_norm.weight", dim);
            if (phi) {
                SyntheticModel.matrix(w, s, b + "ffn_up.weight", dim, 2 * s.ffn());
            } else {
                SyntheticModel.matrix(w, s, b + "ffn_gate.weight", dim, s.ffn());
                SyntheticModel.matrix(w, s, b + "ffn_up.weight", dim, s.ffn());
            }
            SyntheticModel.matrix(w, s, b + "ffn_down.weight", s.ffn(), dim);
            if (gemma) {
                SyntheticModel.norm(w, b + "post_ffw_norm.weight", dim);
            }
        }
    }
}
