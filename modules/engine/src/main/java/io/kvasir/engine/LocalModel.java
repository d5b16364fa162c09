package io.kvasir.engine;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplate;
import io.kvasir.engine.chat.ChatTemplateException;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.ModelRunner;
import io.kvasir.engine.core.PromptScoring;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.model.ModelConfig;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.engine.model.PhaseTimes;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.nio.file.Path;
import java.util.List;

/**
 * A GGUF model loaded into a local {@link EngineCore}, with its tokenizer and chat template: what
 * the CLI runs and what a model shard hosts. Closing it stops the compute threads and unmaps the
 * weights.
 *
 * <p>Rendering is safe off the engine thread ({@link ServedModel}): the tokenizer and the chat
 * template are immutable once loaded, their vocabulary is copied out of the file (which is closed
 * before the engine starts), and each Jinjava render runs on its own copy of the template context
 * with a per-thread interpreter.
 */
public final class LocalModel implements ServedModel {

    private final String name;
    private final Path path;
    private final boolean synthetic;
    private final ModelConfig config;
    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final EngineCore engine;
    private final PhaseTimes phaseTimes;
    private final PromptScoring.Pooling pooling;

    private LocalModel(
            String name,
            Path path,
            boolean synthetic,
            ModelConfig config,
            Tokenizer tokenizer,
            ChatTemplate chatTemplate,
            EngineCore engine,
            PhaseTimes phaseTimes,
            PromptScoring.Pooling pooling) {
        this.name = name;
        this.pooling = pooling;
        this.path = path;
        this.synthetic = synthetic;
        this.config = config;
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.engine = engine;
        this.phaseTimes = phaseTimes;
    }

    /** Loads the model at {@code path}; an unreadable or unsupported file fails here with a clear message. */
    public static LocalModel open(Path path, EngineOptions options) {
        return open(path, options, () -> LlamaRunner.open(path, options));
    }

    /**
     * As {@link #open(Path, EngineOptions)}, with the forward passes run by the runner {@code
     * runner} builds (called once, after the tokenizer and template were read) instead of a whole
     * local model: a host that splits the layers over several processes brings its own.
     */
    public static LocalModel open(
            Path path, EngineOptions options, java.util.function.Supplier<? extends ModelRunner> runner) {
        String name;
        boolean synthetic;
        ModelConfig config;
        Tokenizer tokenizer;
        ChatTemplate template;
        PromptScoring.Pooling pooling;
        try (GgufFile gguf = GgufFile.open(path)) {
            config = ModelConfig.read(gguf);
            try {
                Vocabulary vocabulary = Vocabulary.fromGguf(gguf);
                tokenizer = Tokenizers.create(vocabulary);
                template = ChatTemplate.forModel(vocabulary, tokenizer);
            } catch (IllegalArgumentException | ChatTemplateException e) {
                // The tokenizer classes are also used on vocabularies built in code, so they throw
                // plain argument errors; here the argument is the file, and callers (the CLI, a
                // shard) report a file they cannot load through the one load exception.
                throw new ModelLoadException(
                        path.getFileName() + ": unusable tokenizer or chat template: " + e.getMessage(), e);
            }
            name = gguf.string("general.name", baseName(path));
            synthetic = gguf.bool("kvasir.synthetic", false);
            pooling = pooling(gguf);
            // Deterministic "auto" is decided by what the weights cost to compute exactly (Determinism).
            java.util.Set<io.kvasir.engine.tensor.GgmlType> matrixTypes =
                    java.util.EnumSet.noneOf(io.kvasir.engine.tensor.GgmlType.class);
            for (var t : gguf.tensors()) {
                if (t.rank() == 2 && t.type() != null) {
                    matrixTypes.add(t.type());
                }
            }
            options = options.resolved(matrixTypes);
        }
        ModelRunner forward = runner.get();
        try {
            EngineCore engine = new EngineCore(forward, tokenizer, options);
            // A whole local model times its phases; a pipeline's runner has no one model to ask.
            PhaseTimes phases =
                    forward instanceof LlamaRunner local ? local.model().phaseTimes() : null;
            return new LocalModel(name, path, synthetic, config, tokenizer, template, engine, phases, pooling);
        } catch (RuntimeException e) {
            forward.close();
            throw e;
        }
    }

    /**
     * How the model's embeddings pool hidden states: the file's {@code <arch>.pooling_type} when it
     * names last-token pooling (3, as llama.cpp numbers them), else the mean. A generative model's
     * file names none; the mean over every position is the more robust sentence vector for it,
     * since its last position is trained to predict the next token, not to sum up the text.
     */
    private static PromptScoring.Pooling pooling(GgufFile gguf) {
        String arch = gguf.string("general.architecture", "llama");
        return gguf.integer(arch + ".pooling_type", 0) == 3 ? PromptScoring.Pooling.LAST : PromptScoring.Pooling.MEAN;
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public PromptScoring.Pooling pooling() {
        return pooling;
    }

    private static String baseName(Path p) {
        String f = p.getFileName().toString();
        return f.endsWith(".gguf") ? f.substring(0, f.length() - 5) : f;
    }

    /** Renders a conversation with the model's chat template and tokenizes it (special tokens parsed). */
    @Override
    public int[] chatPrompt(List<ChatMessage> messages) {
        return chatTemplate.encode(tokenizer, messages, true);
    }

    @Override
    public int[] chatPrompt(List<ChatMessage> messages, String toolsJson) {
        return chatTemplate.encode(tokenizer, messages, toolsJson, true);
    }

    /** Tokenizes a plain prompt as llama.cpp does: BOS when the vocabulary wants one, specials as text. */
    @Override
    public int[] textPrompt(String text) {
        return tokenizer.encode(text, true, false);
    }

    public String name() {
        return name;
    }

    public Path path() {
        return path;
    }

    /** Whether the file says its weights are random (the synthetic generator): its output is meaningless. */
    public boolean synthetic() {
        return synthetic;
    }

    public ModelConfig config() {
        return config;
    }

    /** Where the model's steps spend their time (attention, expert routing, experts); for benchmarks. */
    public PhaseTimes phaseTimes() {
        return phaseTimes;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    @Override
    public EngineCore engine() {
        return engine;
    }

    @Override
    public void close() {
        engine.close();
    }
}
