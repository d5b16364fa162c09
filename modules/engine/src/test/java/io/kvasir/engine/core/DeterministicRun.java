package io.kvasir.engine.core;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * One greedy request run alone, then among fifteen others (short and long prompts, greedy, seeded
 * and unseeded draws), then resumed from half its output: each run's tokens with the exact bits of
 * their log-probabilities, one line each. {@link DeterministicTokensTest} compares these lines
 * between engines, thread counts and JVMs (its {@code main} is what a forked, cold JVM runs).
 */
final class DeterministicRun {

    private DeterministicRun() {}

    static final int GEN = 8;

    /** The target's prompt: long enough that its prefill is one step of many rows. */
    static int[] targetPrompt(int vocab, int length) {
        return prompt(7, length, vocab);
    }

    static final int PROMPT = 70;

    static List<String> run(Path model, int threads, int gen) {
        return run(model, threads, gen, PROMPT, false);
    }

    /**
     * With {@code aloneOnly}, just the first line, for a prompt of {@code promptLength}: what a JVM
     * running the Vector API's fallback code has time for.
     */
    static List<String> run(Path model, int threads, int gen, int promptLength, boolean aloneOnly) {
        EngineOptions options = EngineOptions.defaults()
                .withThreads(threads)
                .withMaxNumSeqs(16)
                .withMaxBatchTokens(512)
                .withKvBlocks(256)
                .withPrefixCaching(false)
                // On for every weight type: auto would leave the K-quant case on its fast kernels.
                .withDeterministic(true);
        try (LocalModel local = LocalModel.open(model, options)) {
            InferenceEngine engine = local.engine();
            int vocab = local.tokenizer().vocabSize();
            int[] prompt = targetPrompt(vocab, promptLength);
            List<String> lines = new ArrayList<>();

            engine.addRequest(target("alone", prompt, gen));
            String alone = line(runToEnd(engine).get("alone"));
            lines.add("alone " + alone);
            if (aloneOnly) {
                return lines;
            }

            engine.addRequest(target("batched", prompt, gen));
            SplittableRandom r = new SplittableRandom(3);
            for (int i = 0; i < 15; i++) {
                int length = i % 5 == 0 ? 90 : 1 + r.nextInt(30);
                SamplingParams sampling = switch (i % 3) {
                    case 0 -> SamplingParams.greedy();
                    case 1 -> new SamplingParams(0.8f, 40, 0.95f, 0f, 1f, 0f, 0f, (long) i, 0);
                    default -> new SamplingParams(1.0f, 0, 1f, 0f, 1f, 0f, 0f, null, 0);
                };
                engine.addRequest(EngineRequest.of("other" + i, prompt(100 + i, length, vocab), sampling, 4 + i));
            }
            lines.add("batched " + line(runToEnd(engine).get("batched")));

            // A resume: the prompt plus the first half of the output, prefilled anew.
            int[] first = Arrays.stream(alone.split(" "))
                    .limit(gen / 2)
                    .mapToInt(t -> Integer.parseInt(t.split(":")[0]))
                    .toArray();
            int[] resumed = Arrays.copyOf(prompt, prompt.length + first.length);
            System.arraycopy(first, 0, resumed, prompt.length, first.length);
            engine.addRequest(target("resumed", resumed, gen - first.length));
            lines.add("resumed " + String.join(" ", Arrays.copyOfRange(alone.split(" "), 0, first.length)) + " "
                    + line(runToEnd(engine).get("resumed")));
            return lines;
        }
    }

    private static EngineRequest target(String id, int[] prompt, int gen) {
        return new EngineRequest(
                id,
                prompt,
                SamplingParams.greedy().withTopLogprobs(2),
                gen,
                List.of(),
                java.util.Set.of(),
                true,
                0,
                null);
    }

    private static Map<String, List<TokenEvent>> runToEnd(InferenceEngine engine) {
        Map<String, List<TokenEvent>> byId = new java.util.HashMap<>();
        while (engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                byId.computeIfAbsent(e.requestId(), k -> new ArrayList<>()).add(e);
            }
        }
        return byId;
    }

    /** "token:logprob-bits" per generated token. */
    private static String line(List<TokenEvent> events) {
        return events.stream()
                .filter(e -> e.tokenId() >= 0)
                .map(e -> e.tokenId() + ":" + Integer.toHexString(Float.floatToRawIntBits(e.logprob())))
                .collect(Collectors.joining(" "));
    }

    private static int[] prompt(long seed, int length, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + r.nextInt(vocab - 3);
        }
        return p;
    }

    /** Args: model path, threads, tokens to generate, prompt length, "alone" or "all". Prints the lines of {@link #run}. */
    public static void main(String[] args) {
        boolean aloneOnly = args[4].equals("alone");
        for (String l : run(
                Path.of(args[0]),
                Integer.parseInt(args[1]),
                Integer.parseInt(args[2]),
                Integer.parseInt(args[3]),
                aloneOnly)) {
            System.out.println(l);
        }
    }
}
