package io.kvasir.server;

import io.kvasir.engine.synth.ArchitectureModels;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.server.loadgen.OutputPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes a synthetic Llama-family GGUF (llama, qwen3, qwen3moe, Mixtral) with seeded random weights (output is meaningless). */
@Command(
        name = "make-model",
        mixinStandardHelpOptions = true,
        description = "Write a synthetic Llama-family GGUF with seeded random weights (for tests and benchmarks).")
final class MakeModelCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Output GGUF path")
    Path out;

    @Option(
            names = "--preset",
            defaultValue = "tiny",
            completionCandidates = Presets.class,
            description = "${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    String preset;

    @Option(names = "--dim", description = "Embedding width (default: the preset's)")
    Integer dim;

    @Option(names = "--layers", description = "Transformer layers (default: the preset's)")
    Integer layers;

    @Option(names = "--heads", description = "Attention heads (default: the preset's)")
    Integer heads;

    @Option(
            names = "--kv-heads",
            description = "Key/value heads, fewer than --heads for grouped-query attention (default: the preset's)")
    Integer kvHeads;

    @Option(names = "--ffn", description = "Hidden width of the feed-forward layers (default: the preset's)")
    Integer ffn;

    @Option(names = "--vocab", description = "Size of the built-in vocabulary (default: the preset's)")
    Integer vocab;

    @Option(names = "--vocab-from", description = "Copy the vocabulary (tokenizer.* keys) from this GGUF")
    Path vocabFrom;

    @Option(names = "--context", description = "Context length the model declares (default: the preset's)")
    Integer context;

    @Option(
            names = "--type",
            description = "F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|IQ4_NL|Q4_K|Q5_K|Q6_K (default: the preset's)")
    String type;

    @Option(names = "--seed", description = "Seed of the random weights (default: the preset's)")
    Long seed;

    @Option(names = "--tied", description = "Tie the output matrix to the token embeddings (default: the preset's)")
    Boolean tied;

    @Option(names = "--arch", description = "llama | qwen3 | qwen3moe (default: the preset's)")
    String arch;

    @Option(names = "--experts", description = "Routed experts per layer; 0 for a dense model (default: the preset's)")
    Integer experts;

    @Option(names = "--experts-used", description = "Experts each token is routed to (default: the preset's, else 2)")
    Integer expertsUsed;

    @Option(names = "--expert-ffn", description = "Hidden width of one expert (default: the preset's, else --ffn)")
    Integer expertFfn;

    /** Every preset: the Llama-family ones and the other architectures'. The help and the error both list these. */
    static final class Presets implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return names().iterator();
        }

        static List<String> names() {
            return Stream.concat(SyntheticModel.Spec.presetNames().stream(), ArchitectureModels.presetNames().stream())
                    .toList();
        }
    }

    @Override
    public Integer call() throws Exception {
        if (!Presets.names().contains(preset)) {
            throw new IllegalArgumentException(
                    "unknown --preset '" + preset + "'; use one of: " + String.join(", ", Presets.names()));
        }
        OutputPath.check("--out", out);
        ArchitectureModels variant = ArchitectureModels.isPreset(preset) ? ArchitectureModels.preset(preset) : null;
        SyntheticModel.Spec p = variant != null ? variant.base() : SyntheticModel.Spec.preset(preset);
        GgmlType t = type == null ? p.type() : parseType(type);
        SyntheticModel.Spec spec = new SyntheticModel.Spec(
                or(dim, p.dim()),
                or(layers, p.layers()),
                or(heads, p.heads()),
                or(kvHeads, p.kvHeads()),
                or(ffn, p.ffn()),
                or(vocab, p.vocabSize()),
                or(context, p.contextLength()),
                t,
                seed != null ? seed : p.seed(),
                tied != null ? tied : p.tiedOutput(),
                vocabFrom,
                p.ropeTheta(),
                arch != null ? arch : p.architecture(),
                experts(p));
        if (variant != null) {
            variant.withBase(spec).write(out);
        } else {
            SyntheticModel.write(spec, out);
        }
        System.out.printf(
                "wrote %s (%s, %s%s, dim %d, %d layers, %d heads/%d kv, ffn %d, %s, %.1f MiB); "
                        + "random weights: its output is meaningless%n",
                out,
                preset,
                variant != null ? variant.arch() : spec.architecture(),
                spec.experts() == null
                        ? ""
                        : String.format(
                                " with %d experts (%d used, width %d)",
                                spec.experts().count(),
                                spec.experts().used(),
                                spec.experts().ffn()),
                spec.dim(),
                spec.layers(),
                spec.heads(),
                spec.kvHeads(),
                spec.ffn(),
                spec.type(),
                Files.size(out) / 1048576.0);
        return 0;
    }

    /** The preset's experts with the options applied; none when --experts 0 or a dense preset without --experts. */
    private SyntheticModel.Experts experts(SyntheticModel.Spec p) {
        SyntheticModel.Experts base = p.experts();
        int count = experts != null ? experts : base != null ? base.count() : 0;
        if (count == 0) {
            return null;
        }
        int used = expertsUsed != null ? expertsUsed : base != null ? base.used() : 2;
        int width = expertFfn != null ? expertFfn : base != null ? base.ffn() : or(ffn, p.ffn());
        return new SyntheticModel.Experts(count, used, width);
    }

    private static GgmlType parseType(String s) {
        try {
            GgmlType t = GgmlType.valueOf(s.toUpperCase(java.util.Locale.ROOT));
            if (t.supported()) {
                return t;
            }
        } catch (IllegalArgumentException ignored) {
            // fall through to the message listing what is supported
        }
        throw new IllegalArgumentException("unsupported --type " + s + "; use one of "
                + java.util.Arrays.stream(GgmlType.values())
                        .filter(GgmlType::supported)
                        .map(Enum::name)
                        .collect(java.util.stream.Collectors.joining(", ")));
    }

    private static int or(Integer v, int def) {
        return v != null ? v : def;
    }
}
