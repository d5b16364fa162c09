package io.kvasir.engine.synth;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes Llama-family GGUF files with random weights, named exactly as llama.cpp names them,
 * for tests and benchmarks that need a model of a given size and type but not a trained one. The
 * output of such a model is meaningless; the file says so in {@code general.description} and
 * {@code kvasir.synthetic}.
 *
 * <p>Weights are N(0, 0.02), each tensor from its own generator seeded by the spec's seed and the
 * tensor's name, so the same spec gives the same bytes. Norm weights are 1.0 in F32; every 2-D tensor
 * is in the spec's type. A K-quant whose 256-element blocks do not divide a tensor's rows (the tiny
 * preset's 128-wide rows, say) is replaced for that tensor by the nearest 32-element block type, as
 * llama.cpp's quantizer does.
 *
 * <p>Besides {@code llama}, a spec can name {@code qwen3} (per-head Q/K norms, whose weights are
 * drawn around 1 so that a kernel that skipped them would show) and mixtures of experts: {@code
 * qwen3moe}, or {@code llama} with experts (Mixtral). Expert tensors are stacked 3-D as llama.cpp
 * writes them; the router ({@code ffn_gate_inp}) stays F32, as llama.cpp's quantizer leaves it.
 */
public final class SyntheticModel {

    static final float WEIGHT_STDDEV = 0.02f;
    static final float RMS_EPSILON = 1e-5f;
    static final String DESCRIPTION = "Synthetic model written by Kvasir: the weights are random, so its "
            + "output is meaningless. For tests and benchmarks only.";

    private SyntheticModel() {}

    /**
     * The shape of a synthetic model.
     *
     * @param vocabFrom a GGUF file whose {@code tokenizer.*} keys are copied, and whose token count
     *                  replaces {@code vocabSize}; null for the built-in vocabulary
     */
    public record Spec(
            int dim,
            int layers,
            int heads,
            int kvHeads,
            int ffn,
            int vocabSize,
            int contextLength,
            GgmlType type,
            long seed,
            boolean tiedOutput,
            Path vocabFrom,
            float ropeTheta,
            String architecture,
            Experts experts) {

        public static final long DEFAULT_SEED = 42;

        /** A dense {@code llama} model. */
        public Spec(
                int dim,
                int layers,
                int heads,
                int kvHeads,
                int ffn,
                int vocabSize,
                int contextLength,
                GgmlType type,
                long seed,
                boolean tiedOutput,
                Path vocabFrom,
                float ropeTheta) {
            this(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    seed,
                    tiedOutput,
                    vocabFrom,
                    ropeTheta,
                    "llama",
                    null);
        }

        public Spec {
            if (!ARCHITECTURES.contains(architecture)) {
                throw new IllegalArgumentException(
                        "unknown architecture '" + architecture + "'; synthetic models are " + ARCHITECTURES);
            }
            if (architecture.equals("qwen3moe") != (experts != null) && !architecture.equals("llama")) {
                throw new IllegalArgumentException(architecture
                        + (experts == null ? " needs experts" : " has no experts (use qwen3moe or llama)"));
            }
            if (experts != null) {
                positive("expert ffn", experts.ffn());
                if (experts.count() < 2 || experts.used() < 1 || experts.used() > experts.count()) {
                    throw new IllegalArgumentException("experts: " + experts.used() + " of " + experts.count()
                            + " (need at least 2 experts and 1 to all of them used)");
                }
            }
            positive("dim", dim);
            positive("layers", layers);
            positive("heads", heads);
            positive("kvHeads", kvHeads);
            positive("ffn", ffn);
            positive("contextLength", contextLength);
            if (dim % heads != 0 || (dim / heads) % 2 != 0) {
                throw new IllegalArgumentException("dim " + dim + " must split into " + heads
                        + " heads of an even size (rotary embeddings rotate pairs)");
            }
            if (heads % kvHeads != 0) {
                throw new IllegalArgumentException(heads + " heads cannot be shared by " + kvHeads + " KV heads");
            }
            if (type == null || !type.supported()) {
                throw new IllegalArgumentException("cannot write weights of type " + type);
            }
            for (int cols : new int[] {dim, ffn, experts == null ? dim : experts.ffn()}) {
                int block = tensorType(type, cols).blockSize();
                if (cols % block != 0) {
                    throw new IllegalArgumentException(
                            "dim " + dim + " and ffn " + ffn + " must be multiples of " + block + " for " + type);
                }
            }
            if (vocabFrom == null && vocabSize < BuiltinVocabulary.MIN_SIZE) {
                throw new IllegalArgumentException(
                        "vocabSize must be at least " + BuiltinVocabulary.MIN_SIZE + ", not " + vocabSize);
            }
            if (!(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
                throw new IllegalArgumentException("ropeTheta must be positive, not " + ropeTheta);
            }
        }

        /** dim 128, 4 layers, 4 heads sharing 2 KV heads, FFN 384, built-in vocabulary of 512, Q8_0. */
        public static Spec tiny() {
            return new Spec(128, 4, 4, 2, 384, 512, 1024, GgmlType.Q8_0, DEFAULT_SEED, false, null, 10000f);
        }

        /** The shape of Llama-2-style 110M models: dim 768, 12 layers, 12 heads, FFN 2048, 32000 tokens. */
        public static Spec bench110m() {
            return new Spec(768, 12, 12, 12, 2048, 32000, 2048, GgmlType.Q8_0, DEFAULT_SEED, false, null, 10000f);
        }

        /** The tiny shape as {@code qwen3}: per-head Q/K norms, NEOX RoPE, 1e6 RoPE base, F32. */
        public static Spec qwen3Tiny() {
            return tiny().withType(GgmlType.F32).withArchitecture("qwen3", null).withRopeTheta(1e6f);
        }

        /** The tiny shape as {@code qwen3moe}: 8 experts of width 256, 2 used per token, F32. */
        public static Spec qwen3MoeTiny() {
            return qwen3Tiny().withArchitecture("qwen3moe", new Experts(8, 2, 256));
        }

        /** The tiny shape as Mixtral ({@code llama} with experts): 4 experts of width 384, 2 used, F32. */
        public static Spec mixtralTiny() {
            return tiny().withType(GgmlType.F32).withArchitecture("llama", new Experts(4, 2, 384));
        }

        /** {@link #bench110m}'s shape as {@code qwen3} (a benchmark model, 134M parameters). */
        public static Spec qwen3Bench() {
            return bench110m().withArchitecture("qwen3", null).withRopeTheta(1e6f);
        }

        /**
         * A {@code qwen3moe} benchmark model of about 100M parameters, 30M of them active per
         * token: dim 512, 8 layers, 8 heads sharing 4 KV heads, 8 experts of width 768, 2 used,
         * 32000 tokens, Q8_0.
         */
        public static Spec qwen3MoeBench() {
            return new Spec(512, 8, 8, 4, 1536, 32000, 2048, GgmlType.Q8_0, DEFAULT_SEED, false, null, 1e6f)
                    .withArchitecture("qwen3moe", new Experts(8, 2, 768));
        }

        /** The preset called {@code name}: one of {@link #presetNames()}. */
        public static Spec preset(String name) {
            return switch (name) {
                case "tiny" -> tiny();
                case "bench-110m" -> bench110m();
                case "qwen3-tiny" -> qwen3Tiny();
                case "qwen3moe-tiny" -> qwen3MoeTiny();
                case "mixtral-tiny" -> mixtralTiny();
                case "qwen3-bench" -> qwen3Bench();
                case "qwen3moe-bench" -> qwen3MoeBench();
                default ->
                    throw new IllegalArgumentException(
                            "unknown synthetic model preset '" + name + "'; known: " + presetNames());
            };
        }

        public static List<String> presetNames() {
            return List.of(
                    "tiny",
                    "bench-110m",
                    "qwen3-tiny",
                    "qwen3moe-tiny",
                    "mixtral-tiny",
                    "qwen3-bench",
                    "qwen3moe-bench");
        }

        public int headDim() {
            return dim / heads;
        }

        public int kvDim() {
            return headDim() * kvHeads;
        }

        public Spec withType(GgmlType t) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    t,
                    seed,
                    tiedOutput,
                    vocabFrom,
                    ropeTheta,
                    architecture,
                    experts);
        }

        public Spec withSeed(long s) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    s,
                    tiedOutput,
                    vocabFrom,
                    ropeTheta,
                    architecture,
                    experts);
        }

        public Spec withTiedOutput(boolean tied) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    seed,
                    tied,
                    vocabFrom,
                    ropeTheta,
                    architecture,
                    experts);
        }

        public Spec withVocabFrom(Path vocab) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    seed,
                    tiedOutput,
                    vocab,
                    ropeTheta,
                    architecture,
                    experts);
        }

        /** The same shape as another architecture, with {@code experts} (null for a dense model). */
        public Spec withArchitecture(String arch, Experts e) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    seed,
                    tiedOutput,
                    vocabFrom,
                    ropeTheta,
                    arch,
                    e);
        }

        public Spec withRopeTheta(float theta) {
            return new Spec(
                    dim,
                    layers,
                    heads,
                    kvHeads,
                    ffn,
                    vocabSize,
                    contextLength,
                    type,
                    seed,
                    tiedOutput,
                    vocabFrom,
                    theta,
                    architecture,
                    experts);
        }

        private static void positive(String name, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(name + " must be positive, not " + v);
            }
        }
    }

    /** Architectures a spec can name. */
    static final List<String> ARCHITECTURES = List.of("llama", "qwen3", "qwen3moe");

    /**
     * Routed experts: {@code count} per layer, {@code used} per token, each of hidden width
     * {@code ffn}. For Mixtral ({@code llama}) llama.cpp takes the experts' width from
     * {@code feed_forward_length}, so the spec's {@code ffn} must equal it there.
     */
    public record Experts(int count, int used, int ffn) {}

    /** Writes the model described by {@code spec} to {@code out}. */
    public static void write(Spec spec, Path out) {
        if (spec.architecture().equals("llama")
                && spec.experts() != null
                && spec.experts().ffn() != spec.ffn()) {
            throw new IllegalArgumentException("a llama model's experts have the width of feed_forward_length: "
                    + spec.experts().ffn() + " != " + spec.ffn());
        }
        String a = spec.architecture();
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", a);
        w.putString(
                "general.name",
                String.format(
                        Locale.ROOT,
                        "kvasir-synthetic-%s%s-%dd-%dl-%s",
                        a,
                        spec.experts() == null ? "" : "-" + spec.experts().count() + "x",
                        spec.dim(),
                        spec.layers(),
                        spec.type().name().toLowerCase(Locale.ROOT)));
        w.putString("general.description", DESCRIPTION);
        w.putUInt32("general.file_type", fileType(spec.type()));
        w.putBool("kvasir.synthetic", true);
        w.putUInt64("kvasir.synthetic.seed", spec.seed());
        int vocab =
                spec.vocabFrom() == null ? builtinVocabulary(w, spec.vocabSize()) : copyVocabulary(w, spec.vocabFrom());
        w.putUInt32(a + ".vocab_size", vocab);
        w.putUInt32(a + ".context_length", spec.contextLength());
        w.putUInt32(a + ".embedding_length", spec.dim());
        w.putUInt32(a + ".block_count", spec.layers());
        w.putUInt32(a + ".feed_forward_length", spec.ffn());
        w.putUInt32(a + ".attention.head_count", spec.heads());
        w.putUInt32(a + ".attention.head_count_kv", spec.kvHeads());
        w.putUInt32(a + ".rope.dimension_count", spec.headDim());
        w.putFloat32(a + ".rope.freq_base", spec.ropeTheta());
        w.putFloat32(a + ".attention.layer_norm_rms_epsilon", RMS_EPSILON);
        if (!a.equals("llama")) {
            // Qwen3 declares its head width; llama.cpp takes it from here when present.
            w.putUInt32(a + ".attention.key_length", spec.headDim());
            w.putUInt32(a + ".attention.value_length", spec.headDim());
        }
        Experts experts = spec.experts();
        if (experts != null) {
            w.putUInt32(a + ".expert_count", experts.count());
            w.putUInt32(a + ".expert_used_count", experts.used());
            if (a.equals("qwen3moe")) {
                w.putUInt32(a + ".expert_feed_forward_length", experts.ffn());
            }
        }

        int dim = spec.dim();
        matrix(w, spec, "token_embd.weight", dim, vocab);
        norm(w, "output_norm.weight", dim);
        if (!spec.tiedOutput()) {
            matrix(w, spec, "output.weight", dim, vocab);
        }
        for (int l = 0; l < spec.layers(); l++) {
            String p = "blk." + l + ".";
            norm(w, p + "attn_norm.weight", dim);
            matrix(w, spec, p + "attn_q.weight", dim, dim);
            matrix(w, spec, p + "attn_k.weight", dim, spec.kvDim());
            matrix(w, spec, p + "attn_v.weight", dim, spec.kvDim());
            matrix(w, spec, p + "attn_output.weight", dim, dim);
            if (!a.equals("llama")) {
                noisyNorm(w, spec, p + "attn_q_norm.weight", spec.headDim());
                noisyNorm(w, spec, p + "attn_k_norm.weight", spec.headDim());
            }
            norm(w, p + "ffn_norm.weight", dim);
            if (experts == null) {
                matrix(w, spec, p + "ffn_gate.weight", dim, spec.ffn());
                matrix(w, spec, p + "ffn_up.weight", dim, spec.ffn());
                matrix(w, spec, p + "ffn_down.weight", spec.ffn(), dim);
            } else {
                tensor(w, spec, p + "ffn_gate_inp.weight", GgmlType.F32, dim, experts.count(), 1);
                tensor(w, spec, p + "ffn_gate_exps.weight", null, dim, experts.ffn(), experts.count());
                tensor(w, spec, p + "ffn_up_exps.weight", null, dim, experts.ffn(), experts.count());
                tensor(w, spec, p + "ffn_down_exps.weight", null, experts.ffn(), dim, experts.count());
            }
        }
        w.write(out);
    }

    static int builtinVocabulary(GgufWriter w, int size) {
        BuiltinVocabulary v = BuiltinVocabulary.of(size);
        w.putString("tokenizer.ggml.model", "llama");
        w.putStringArray("tokenizer.ggml.tokens", v.tokens());
        w.putFloatArray("tokenizer.ggml.scores", v.scores());
        w.putInt32Array("tokenizer.ggml.token_type", v.types());
        w.putUInt32("tokenizer.ggml.unknown_token_id", BuiltinVocabulary.UNK);
        w.putUInt32("tokenizer.ggml.bos_token_id", BuiltinVocabulary.BOS);
        w.putUInt32("tokenizer.ggml.eos_token_id", BuiltinVocabulary.EOS);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
        return size;
    }

    static int copyVocabulary(GgufWriter w, Path from) {
        try (GgufFile f = GgufFile.open(from)) {
            int size = f.stringArray("tokenizer.ggml.tokens").length;
            for (String key : f.metadata().keySet()) {
                if (key.startsWith("tokenizer.")) {
                    w.copy(f, key);
                }
            }
            return size;
        }
    }

    static void norm(GgufWriter w, String name, int dim) {
        float[] ones = new float[dim];
        Arrays.fill(ones, 1f);
        w.addTensor(name, GgmlType.F32, new long[] {dim}, Quantizer.quantize(GgmlType.F32, ones));
    }

    /** A per-head norm's weights: 1 + N(0, 0.1), so that they matter, from the tensor's own generator. */
    private static void noisyNorm(GgufWriter w, Spec spec, String name, int n) {
        SplittableRandom rnd = new SplittableRandom(tensorSeed(spec.seed(), name));
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (1 + rnd.nextGaussian(0, 0.1));
        }
        w.addTensor(name, GgmlType.F32, new long[] {n}, Quantizer.quantize(GgmlType.F32, values));
    }

    /** A 2-D weight of {@code rows} rows of {@code cols} contiguous elements: ne = [cols, rows]. */
    static void matrix(GgufWriter w, Spec spec, String name, int cols, int rows) {
        tensor(w, spec, name, null, cols, rows, 1);
    }

    /**
     * {@code stack} matrices of {@code rows x cols} in one tensor: ne = [cols, rows] for one, else
     * [cols, rows, stack] (experts). {@code forced} overrides the spec's type (null: the spec's).
     */
    private static void tensor(GgufWriter w, Spec spec, String name, GgmlType forced, int cols, int rows, int stack) {
        GgmlType type = forced != null ? forced : tensorType(spec.type(), cols);
        long elements = (long) cols * rows * stack;
        if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(
                    name + " would have " + elements + " elements; at most 2^31 are supported");
        }
        long seed = tensorSeed(spec.seed(), name);
        // Generated while the file is written, so only one tensor is in memory at a time.
        long[] shape = stack == 1 ? new long[] {cols, rows} : new long[] {cols, rows, stack};
        w.addTensor(name, type, shape, () -> {
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] values = new float[(int) elements];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) rnd.nextGaussian(0, WEIGHT_STDDEV);
            }
            return Quantizer.quantize(type, values);
        });
    }

    /** The type a tensor with rows of {@code cols} elements gets: a K-quant falls back when its blocks do not fit. */
    static GgmlType tensorType(GgmlType type, int cols) {
        if (cols % type.blockSize() == 0) {
            return type;
        }
        return switch (type) {
            case Q4_K -> GgmlType.Q4_0;
            case Q5_K, Q6_K -> GgmlType.Q8_0;
            default -> type;
        };
    }

    /** FNV-1a over the name, mixed with the seed, so each tensor's values depend on both and nothing else. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ b) * 0x100000001b3L;
        }
        return h;
    }

    /** llama.cpp's {@code general.file_type} for a model that is all one type (norms aside). */
    static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case IQ4_NL -> 25;
            case Q4_K -> 14; // "Q4_K - Small": the closest of llama.cpp's names for all-Q4_K
            case Q5_K -> 16; // "Q5_K - Small"
            case Q6_K -> 18;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no file type for " + type);
        };
    }
}
