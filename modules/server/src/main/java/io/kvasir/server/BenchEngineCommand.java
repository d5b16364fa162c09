package io.kvasir.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.PhaseTimes;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.server.loadgen.StatusLine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures the engine in-process: prefill tokens/s for one prompt, and aggregate decode tokens/s
 * with {@code batch} sequences decoding together in one engine. Medians over repeats: these
 * machines are noisy, so one number from one run means little.
 */
@Command(
        name = "engine",
        mixinStandardHelpOptions = true,
        description = "Prefill and batched decode speed of the in-process engine (medians over repeats).")
final class BenchEngineCommand implements Callable<Integer> {

    /** Decode steps run at each batch size before measuring (see {@link #measure}). */
    static final int WARM_UP_STEPS = 512;

    /** The most time spent warming one batch size, whatever the steps: a slow model still starts. */
    static final long WARM_UP_MAX_MS = 20_000;

    @Option(
            names = "--model",
            description = "GGUF model file or hub model (hf://OWNER/REPO/FILE.gguf, hf://OWNER/REPO:QUANT); "
                    + "default: the synthetic default model")
    String model;

    /** The local file of --model, once resolved (a hub model is fetched once per run). */
    private Path path;

    @Option(
            names = "--prompt-tokens",
            defaultValue = "128",
            description = "Prompt length: of the prefill measured, and of each decoding sequence's prompt"
                    + " (default ${DEFAULT-VALUE})")
    int promptTokens;

    @Option(
            names = "--gen-tokens",
            defaultValue = "64",
            description = "Tokens each sequence generates in a decode measurement (default ${DEFAULT-VALUE})")
    int genTokens;

    @Option(
            names = "--batch",
            split = ",",
            defaultValue = "1,4,16",
            description = "Sequences decoding together, one measurement per value (default ${DEFAULT-VALUE})")
    int[] batches;

    @Option(names = "--threads", defaultValue = "0", description = "Compute threads (default: one per core)")
    int threads;

    @Option(
            names = "--kv-precision",
            defaultValue = "F16",
            description =
                    "How the KV cache stores keys and values: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    KvPrecision kvPrecision;

    @Option(
            names = "--deterministic",
            defaultValue = "auto",
            arity = "1",
            description = "on: every step computed as each row would be alone (bitwise reproducible); off:"
                    + " the fastest kernels; auto (the engine's default): on where that is free, when every"
                    + " weight matrix is Q8_0, F32, Q4_1, Q5_0, Q5_1 or IQ4_NL (default ${DEFAULT-VALUE})")
    String deterministic;

    @Option(
            names = "--repeats",
            defaultValue = "3",
            description = "Runs of each measurement; the median is reported (default ${DEFAULT-VALUE})")
    int repeats;

    @Option(
            names = "--settle-max-ms",
            defaultValue = "20000",
            description = "After the warm-up, wait up to this long for the JIT to compile nothing for"
                    + " half a second, so that the figures are of compiled code and not of the compiler"
                    + " sharing the cores (0: do not wait)")
    long settleMaxMs;

    @Option(names = "--json", description = "Print the results as one JSON object")
    boolean json;

    @Option(
            names = "--phases",
            description = "Also report the share of step time spent in attention, expert routing and experts"
                    + " (the last repeat of each measurement)")
    boolean phases;

    private PhaseTimes phaseTimes;
    private long settledMs;
    private boolean resolvedDeterministic;
    /** Per measurement (prefill, then each decode batch): {wall, attention, routing, experts} nanoseconds. */
    private final Map<String, long[]> phaseSplit = new java.util.LinkedHashMap<>();

    private final SplittableRandom random = new SplittableRandom(42);
    private int nextId;
    private final StatusLine status = StatusLine.of(System.err);
    /** The compute threads the engine ran with (--threads 0 resolved to the core count). */
    private int threadsUsed;

    @Override
    public Integer call() throws Exception {
        // Checked before anything loads: --repeats 0 used to fail after the warm-up, taking the
        // median of nothing.
        io.kvasir.engine.Determinism determinism = checkOptions();
        path = model != null ? ModelLocator.resolve(model) : DefaultModel.ensure(System.err);
        int maxBatch = Arrays.stream(batches).max().orElse(1);
        EngineOptions options = EngineOptions.defaults()
                .withThreads(threads)
                .withKvPrecision(kvPrecision)
                .withMaxNumSeqs(maxBatch)
                .withMaxBatchTokens(batchTokens(promptTokens, maxBatch))
                .withDeterminism(determinism);
        threadsUsed = options.effectiveThreads();
        try {
            measure(options);
        } finally {
            // An error (or the results) must not start in the middle of the progress line.
            status.clear();
        }
        return 0;
    }

    /**
     * The engine's token budget a step: every prompt of the largest batch in one step, so that the
     * sequences start together and decode together to the end, as llama.cpp's batched bench runs
     * them. With one prompt a step (the budget this used to be), sixteen 128-token prompts started
     * sixteen steps apart and the first finished sixteen steps before the last: with 32 tokens
     * each, half the measured steps ran fewer than sixteen sequences (bench-110m Q4_K_M: 594
     * tok/s aggregate at 32 tokens, 669 at 64, 727 for the engine stepping sixteen sequences
     * together). Capped at {@link #MAX_BATCH_TOKENS} or one prompt, whichever is more, past which
     * prompts start in turns again: the engine holds activations for every row of a step, so a
     * larger budget would ask more memory of a large model than its longest prompt does.
     */
    static int batchTokens(int promptTokens, int maxBatch) {
        long all = (long) promptTokens * maxBatch;
        return (int) Math.max(maxBatch, Math.min(all, Math.max(promptTokens, MAX_BATCH_TOKENS)));
    }

    /** The most prompt tokens one step takes in beyond one prompt (a 16 x 128 batch, llama.cpp's batched bench's shape). */
    static final int MAX_BATCH_TOKENS = 2048;

    private io.kvasir.engine.Determinism checkOptions() {
        OptionChecks.atLeastOne("--prompt-tokens", promptTokens);
        OptionChecks.atLeastOne("--gen-tokens", genTokens);
        OptionChecks.atLeastOne("--repeats", repeats);
        for (int b : batches) {
            OptionChecks.atLeastOne("--batch", b);
        }
        OptionChecks.notNegative("--threads", threads, "one per core");
        OptionChecks.notNegative("--settle-max-ms", settleMaxMs, "do not wait");
        try {
            return io.kvasir.engine.Determinism.parse(deterministic);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--deterministic must be on, off or auto, got '" + deterministic + "'");
        }
    }

    private void measure(EngineOptions options) throws Exception {
        try (LocalModel local = LocalModel.open(path, options)) {
            resolvedDeterministic = local.engine().config().deterministic();
            InferenceEngine engine = local.engine();
            phaseTimes = local.phaseTimes();
            int vocab = local.tokenizer().vocabSize();
            progress("warming up");
            runPrefill(engine, vocab);
            // And decodes at every batch size: a prefill compiles the batch kernels, not the
            // single-row ones, and each batch shape has kernels of its own, which the optimising
            // compiler otherwise takes during the first measured decode (seconds on a busy
            // machine, with every vector boxed until then). One decode of 64 steps was not enough:
            // the code run once a step or once a layer had not yet been called often enough to
            // reach the optimising compiler, so the compiler was quiet while the figures still
            // rose (bench-110m Q4_K, 2 threads: a median of 3 runs 450-480 tokens/s, of 15 runs
            // 552). Hence at least WARM_UP_STEPS steps, or WARM_UP_MAX_MS, per batch size.
            for (int b : batches) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WARM_UP_MAX_MS);
                int steps = 0;
                do {
                    runDecode(engine, vocab, b);
                    steps += genTokens;
                } while (steps < WARM_UP_STEPS && System.nanoTime() < until);
            }
            if (settleMaxMs > 0) {
                progress("waiting for the compiler");
                settledMs = io.kvasir.engine.CompilerQuiet.await(500, settleMaxMs);
            }

            double[] prefill = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                progress("prefill %d/%d", r + 1, repeats);
                prefill[r] = runPrefill(engine, vocab);
            }
            List<double[]> decode = new ArrayList<>();
            List<double[]> endToEnd = new ArrayList<>();
            for (int b : batches) {
                double[] runs = new double[repeats];
                double[] e2e = new double[repeats];
                for (int r = 0; r < repeats; r++) {
                    progress("decode batch %d, %d/%d", b, r + 1, repeats);
                    double[] both = runDecode(engine, vocab, b);
                    runs[r] = both[0];
                    e2e[r] = both[1];
                }
                decode.add(runs);
                endToEnd.add(e2e);
            }
            status.clear();
            report(median(prefill), decode, endToEnd);
        }
    }

    private void report(double prefill, List<double[]> decode, List<double[]> endToEnd) throws Exception {
        if (json) {
            ObjectMapper mapper = new ObjectMapper();
            ObjectNode root = mapper.createObjectNode();
            // What the figures are of, so that one file of lines makes a whole table.
            root.put("model", path.getFileName().toString());
            Map<String, Long> bytesByType = new java.util.TreeMap<>();
            String fileType;
            try (io.kvasir.engine.gguf.GgufFile gguf = io.kvasir.engine.gguf.GgufFile.open(path)) {
                // Bytes of the 2-D weights by storage type (a Q4_K_M file mixes Q4_K and Q6_K).
                for (var tensor : gguf.tensors()) {
                    if (tensor.shape().length == 2) {
                        bytesByType.merge(tensor.type().name(), tensor.byteSize(), Long::sum);
                    }
                }
                // The mix the file was quantized to, as llama.cpp names it ("Q4_K_M"), when it says.
                fileType = io.kvasir.engine.gguf.FileTypes.of(gguf).orElse("unknown");
            }
            root.put(
                    "model_type",
                    bytesByType.entrySet().stream()
                            .max(Map.Entry.comparingByValue())
                            .map(Map.Entry::getKey)
                            .orElse("unknown"));
            root.put("file_type", fileType);
            ObjectNode types = root.putObject("weight_bytes_by_type");
            bytesByType.forEach(types::put);
            root.put("threads", threadsUsed);
            root.put("kv_precision", kvPrecision.name());
            // What the run used: auto resolved for this model's weights.
            root.put("deterministic", resolvedDeterministic);
            root.put("prompt_tokens", promptTokens);
            root.put("gen_tokens", genTokens);
            // Each figure is the median of this many runs.
            root.put("repeats", repeats);
            // Decode runs after each sequence's prompt: its context grows from prompt_tokens to
            // prompt_tokens + gen_tokens (llama-bench's tg starts at 0; batched-bench's at -npp).
            root.put("context_depth", promptTokens);
            root.put("jit_settle_ms", settledMs);
            root.put("prefill_tokens_per_second", round(prefill));
            ArrayNode arr = root.putArray("decode");
            for (int i = 0; i < batches.length; i++) {
                arr.addObject()
                        .put("batch", batches[i])
                        .put("tokens_per_second", round(median(decode.get(i))))
                        .put("end_to_end_tokens_per_second", round(median(endToEnd.get(i))));
            }
            if (phases) {
                ObjectNode split = root.putObject("phase_share");
                phaseSplit.forEach((what, t) -> split.putObject(what.replace(' ', '_'))
                        .put("attention", round(100.0 * t[1] / t[0]))
                        .put("routing", round(100.0 * t[2] / t[0]))
                        .put("experts", round(100.0 * t[3] / t[0])));
            }
            System.out.println(mapper.writeValueAsString(root));
        } else {
            if (settleMaxMs > 0) {
                System.out.printf("warm-up: the compiler went quiet %d ms after it%n", settledMs);
            }
            System.out.printf("prefill (%d-token prompt): %.1f tok/s%n", promptTokens, prefill);
            for (int i = 0; i < batches.length; i++) {
                System.out.printf(
                        "decode batch %2d: %.1f tok/s aggregate; %.1f tok/s end to end (medians of %d)%n",
                        batches[i], median(decode.get(i)), median(endToEnd.get(i)), repeats);
            }
            if (phases) {
                phaseSplit.forEach((what, t) -> System.out.printf(
                        "phases, %s: attention %.1f%%, expert routing %.1f%%, experts %.1f%%, rest %.1f%%%n",
                        what,
                        100.0 * t[1] / t[0],
                        100.0 * t[2] / t[0],
                        100.0 * t[3] / t[0],
                        100.0 * (t[0] - t[1] - t[2] - t[3]) / t[0]));
            }
        }
    }

    /** Prompt tokens per second for one fresh prompt (never a prefix-cache hit). */
    private double runPrefill(InferenceEngine engine, int vocab) {
        String id = "p" + (nextId++);
        engine.addRequest(request(id, randomPrompt(vocab, promptTokens), 1));
        phaseTimes.reset();
        long start = System.nanoTime();
        long firstToken = 0;
        while (engine.hasWork()) {
            for (TokenEvent ev : engine.step()) {
                if (firstToken == 0 && ev.tokenId() >= 0) {
                    firstToken = System.nanoTime();
                    recordPhases("prefill", firstToken - start);
                }
            }
        }
        return promptTokens / ((firstToken - start) / 1e9);
    }

    private void recordPhases(String what, long wallNanos) {
        phaseSplit.put(what, new long[] {
            wallNanos, phaseTimes.attentionNanos(), phaseTimes.routingNanos(), phaseTimes.expertNanos()
        });
    }

    /**
     * Aggregate decode tokens/s: {@code batch} sequences, each with its own {@code --prompt-tokens}
     * prompt (as llama.cpp's batched bench does), decode together; the
     * clock starts once all of them have produced their first token, so prefill is excluded.
     * Also end-to-end tokens/s: every generated token over the time from submitting the batch to
     * its last token (prefill included), which is what a serving benchmark at the same
     * concurrency measures from outside. Returns both, in that order.
     */
    private double[] runDecode(InferenceEngine engine, int vocab, int batch) {
        long submitted = System.nanoTime();
        for (int i = 0; i < batch; i++) {
            engine.addRequest(request("d" + (nextId++), randomPrompt(vocab, promptTokens), genTokens));
        }
        int started = 0;
        long clock = 0;
        long counted = 0;
        long all = 0;
        while (engine.hasWork()) {
            List<TokenEvent> events = engine.step();
            for (TokenEvent ev : events) {
                if (ev.tokenId() < 0) {
                    continue;
                }
                all++;
                if (ev.generatedTokens() == 1) {
                    started++;
                } else if (clock != 0) {
                    counted++;
                }
            }
            if (clock == 0 && started == batch) {
                clock = System.nanoTime();
                phaseTimes.reset();
            }
        }
        long end = System.nanoTime();
        recordPhases("decode batch " + batch, end - clock);
        return new double[] {counted / ((end - clock) / 1e9), all / ((end - submitted) / 1e9)};
    }

    private static EngineRequest request(String id, int[] prompt, int maxTokens) {
        return new EngineRequest(id, prompt, SamplingParams.greedy(), maxTokens, List.of(), Set.of(), true, 0, null);
    }

    private int[] randomPrompt(int vocab, int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = 3 + random.nextInt(Math.max(1, vocab - 3));
        }
        return ids;
    }

    private void progress(String fmt, Object... args) {
        status.show("bench engine: " + String.format(fmt, args));
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
