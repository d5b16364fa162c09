package io.kvasir.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.sampling.SamplingParams;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Generates text for one prompt on the local engine, streaming it to standard output. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate text for one prompt with the local engine (no cluster).")
final class GenerateCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            description = "GGUF model file or hub model (hf://OWNER/REPO/FILE.gguf, hf://OWNER/REPO:QUANT); "
                    + "default: the synthetic default model")
    String model;

    @Option(names = "--prompt", required = true, description = "Prompt text")
    String prompt;

    @Option(names = "--chat", description = "Render the prompt as a user turn with the model's chat template")
    boolean chat;

    @Option(
            names = "--max-tokens",
            defaultValue = "128",
            description = "Tokens to generate at most (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 is greedy (default ${DEFAULT-VALUE})")
    float temperature;

    @Option(
            names = "--top-k",
            defaultValue = "0",
            description = "Sample among the k most likely tokens only (default ${DEFAULT-VALUE}: all)")
    int topK;

    @Option(
            names = "--top-p",
            defaultValue = "1",
            description =
                    "Sample among the most likely tokens whose probabilities sum to p (default ${DEFAULT-VALUE}: all)")
    float topP;

    @Option(names = "--seed", description = "Seed for sampling (same seed and input, same output)")
    Long seed;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per core)")
    int threads;

    @Option(
            names = "--kv-precision",
            defaultValue = "F16",
            description =
                    "How the KV cache stores keys and values: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    KvPrecision kvPrecision;

    @Option(names = "--json", description = "Print one JSON object with ids, text and speeds as the last line")
    boolean json;

    @Option(
            names = "--warm-up",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "First run a short throwaway generation and let the JIT finish compiling it, so that "
                    + "the speeds reported are the engine's, not the compiler's (default: on; --no-warm-up skips it)")
    boolean warmUp;

    /** Tokens of the throwaway prompt at most: enough for the prompt kernels' shapes, little time. */
    private static final int WARM_PROMPT_MAX = 128;

    private static final int WARM_DECODE = 32;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Path path = model != null ? ModelLocator.resolve(model) : DefaultModel.ensure(out);
        EngineOptions options = EngineOptions.defaults().withThreads(threads).withKvPrecision(kvPrecision);
        try (LocalModel local = LocalModel.open(path, options)) {
            if (local.synthetic() && !json) {
                System.err.println("note: " + path.getFileName()
                        + " is a synthetic model with random weights; its output is meaningless.");
            }
            int[] promptIds =
                    chat ? local.chatPrompt(List.of(new ChatMessage("user", prompt))) : local.textPrompt(prompt);
            SamplingParams sampling = new SamplingParams(temperature, topK, topP, 0f, 1f, 0f, 0f, seed, 0);
            var engine = local.engine();
            long warmMs =
                    warmUp ? warm(engine, promptIds.length, local.tokenizer().vocabSize()) : 0;
            if (warmUp && !json) {
                System.err.printf(
                        "warm-up: %.1f s (the JIT compiling the kernels; --no-warm-up skips it)%n", warmMs / 1e3);
            }
            engine.addRequest(EngineRequest.of("generate", promptIds, sampling, maxTokens));

            List<Integer> ids = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            long start = System.nanoTime();
            long first = 0;
            long last = start;
            boolean done = false;
            while (!done && engine.hasWork()) {
                for (TokenEvent ev : engine.step()) {
                    if (ev.tokenId() >= 0) {
                        last = System.nanoTime();
                        if (first == 0) {
                            first = last;
                        }
                        ids.add(ev.tokenId());
                    }
                    text.append(ev.text());
                    if (!json) {
                        out.print(ev.text());
                    }
                    done |= ev.finished();
                }
            }
            double prefillSeconds = ((first == 0 ? last : first) - start) / 1e9;
            double decodeSeconds = (last - first) / 1e9;
            double prefillTps = prefillSeconds > 0 ? promptIds.length / prefillSeconds : 0;
            double decodeTps = ids.size() > 1 && decodeSeconds > 0 ? (ids.size() - 1) / decodeSeconds : 0;
            if (json) {
                ObjectMapper mapper = new ObjectMapper();
                ObjectNode node = mapper.createObjectNode();
                node.putPOJO("prompt_token_ids", promptIds);
                node.putPOJO("token_ids", ids);
                node.put("text", text.toString());
                node.put("prefill_tokens_per_second", round(prefillTps));
                node.put("decode_tokens_per_second", round(decodeTps));
                node.put("warm_up_ms", warmMs);
                out.println(mapper.writeValueAsString(node));
            } else {
                out.println();
                System.err.printf(
                        "prompt %d tokens, %.1f tok/s prefill; generated %d tokens, %.1f tok/s decode%n",
                        promptIds.length, prefillTps, ids.size(), decodeTps);
            }
        }
        return 0;
    }

    /**
     * A cold JVM runs the first tokens interpreted and compiles the kernels while it goes: 128
     * tokens of a 135M-parameter model (SmolLM2's shape, Q4_K_M) read 24.9 tok/s cold, and 107-112
     * after this warm-up of 5-7 s (bench-110m: 72.7 cold, 142.4 after 2.8 s). So, as llama.cpp's
     * command line does by default, a throwaway prompt as long as the real one (low ids, inside
     * even a small vocabulary, distinct from the real prompt's, so nothing of it is cached for the real
     * one) is prefilled and decoded first, and the compiler is given a moment to finish (it went
     * quiet within a third of a second of the throwaway generation each time). Returns the
     * milliseconds it took.
     */
    private static long warm(io.kvasir.engine.core.InferenceEngine engine, int promptLength, int vocab) {
        long start = System.nanoTime();
        int n = Math.max(1, Math.min(promptLength, WARM_PROMPT_MAX));
        int[] prompt = new int[n];
        int span = Math.max(1, Math.min(250, vocab - 1));
        for (int i = 0; i < n; i++) {
            prompt[i] = 1 + (i * 7 + 3) % span;
        }
        engine.addRequest(EngineRequest.of("kvasir-warm-up", prompt, SamplingParams.greedy(), WARM_DECODE));
        boolean finished = false;
        while (!finished && engine.hasWork()) {
            for (TokenEvent ev : engine.step()) {
                finished |= ev.finished();
            }
        }
        io.kvasir.engine.CompilerQuiet.await(300, 5000);
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
