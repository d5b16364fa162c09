package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warms a freshly loaded engine, then times it unloaded before it takes any turn: a lone sequence's
 * decode step, the figure an automatic inter-token objective is derived from, and one prompt's
 * prefill, the rate the admission forecast starts from. The warm-up is a small batch
 * ({@value #WARM_SEQUENCES} prompts of {@value #WARM_PROMPT} distinct tokens, decoded together), so
 * that the batched prompt and decode kernels are compiled before clients arrive, not by them; then a
 * lone prompt of {@value #RATE_PROMPT} tokens timed to its first token (the fastest of
 * {@value #RATE_ROUNDS} such prompts); then a lone generation whose median decode step is the
 * answer. About forty-five steps in all.
 *
 * <p>Measured without the batch (a lone warm-up generation only): the first eight requests arriving
 * together at a new bench-110m replica had their first tokens at 3.3-4.1 s, against about 1 s once
 * warm, and what the admission forecast learnt from them refused two of the next eight.
 *
 * <p>Measured without the timed prompt: a new replica published no prefill rate until its first
 * prompts had been read, so the admission forecast had nothing to divide by and admitted the first
 * burst whole. On a simulated slow model (100 prompt tokens a second), 240 requests at once on a
 * fresh server admitted 192; 91 of them ended in a 503 after 300 s, and the first tokens of the rest
 * came at a median of 283 s.
 */
final class LoneStepProbe {

    private static final Logger log = LoggerFactory.getLogger(LoneStepProbe.class);
    private static final int PROMPT = 16;
    private static final int DECODE_STEPS = 16;
    private static final int WARM_SEQUENCES = 8;
    private static final int WARM_PROMPT = 32;
    /** Long enough that a step's fixed cost is a small part of the prompt's time. */
    private static final int RATE_PROMPT = 128;
    /**
     * The prompt is timed at least this many times (distinct prompts) and the fastest counts: the
     * first compiles the kernels of a prompt chunk this long, which the warm-up's short prompts do
     * not. Measured on bench-110m Q8_0: the first 128-token prompt took 1,087 ms (117 tokens a
     * second, against about 2,400 warm), and a rate that low refused two of the first eight requests.
     */
    private static final int RATE_ROUNDS = 3;

    /**
     * More rounds follow while the last one still beat the fastest before it by more than {@value
     * #STILL_WARMING}: the JIT compiles in the background, and three rounds were sometimes all
     * before it had finished. Measured on bench-110m Q8_0, five fresh starts with three rounds:
     * 133-136 ms in two, 349-494 ms in three, and those three refused 16-35 of 48 requests at 8
     * streams on the rate they published.
     */
    private static final double STILL_WARMING = 0.10;

    private static final int MAX_RATE_ROUNDS = 12;

    private LoneStepProbe() {}

    /**
     * What an unloaded engine measured.
     *
     * @param loneStepNanos a lone sequence's median decode step (0: not measured)
     * @param promptTokens the tokens of the timed prompt (0: not measured)
     * @param promptNanos the time from adding that prompt to its first token
     */
    record Unloaded(long loneStepNanos, int promptTokens, long promptNanos) {
        static final Unloaded NONE = new Unloaded(0, 0, 0);

        /** What was measured, for a log line: {@code " (lone decode step ...)"}, or empty. */
        String describe() {
            java.util.List<String> parts = new java.util.ArrayList<>();
            if (loneStepNanos > 0) {
                parts.add("lone decode step " + loneStepNanos / 1000 + " us");
            }
            if (promptTokens > 0) {
                parts.add(promptTokens + " prompt tokens in " + promptNanos / 1_000_000 + " ms");
            }
            return parts.isEmpty() ? "" : " (" + String.join(", ", parts) + ")";
        }
    }

    /** The engine's unloaded figures; a part it could not measure is 0. */
    static Unloaded measure(InferenceEngine engine) {
        try {
            warm(engine);
        } catch (RuntimeException e) {
            log.warn("could not warm the engine ({}); the first clients' requests will", e.toString());
            return Unloaded.NONE;
        }
        int promptTokens = 0;
        long promptNanos = 0;
        try {
            int tokens = Math.min(RATE_PROMPT, engine.maxContext() - 2);
            long fastest = Long.MAX_VALUE;
            boolean improving = true;
            for (int round = 0; round < MAX_RATE_ROUNDS && (round < RATE_ROUNDS || improving); round++) {
                long took = timePrompt(engine, tokens, round);
                improving = took < fastest * (1 - STILL_WARMING);
                fastest = Math.min(fastest, took);
            }
            // Set together, and only once every round came back: a failed round leaves both 0.
            promptTokens = tokens;
            promptNanos = fastest;
        } catch (RuntimeException e) {
            log.warn(
                    "could not time a prompt ({}); the admission forecast waits for the first prompts served",
                    e.toString());
        }
        long median = 0;
        try {
            median = run(engine, "kvasir-probe");
            log.debug(
                    "lone decode step {} us, {} prompt tokens in {} us",
                    median / 1000,
                    promptTokens,
                    promptNanos / 1000);
        } catch (RuntimeException e) {
            log.warn(
                    "could not time a lone decode step ({}); the ITL objective follows the first steps served",
                    e.toString());
        }
        return new Unloaded(median, promptTokens, promptNanos);
    }

    /**
     * Adds one prompt that shares no block with the warm-up's (a cached prefix would compute
     * nothing) and times it to its first token.
     */
    private static long timePrompt(InferenceEngine engine, int tokens, int round) {
        if (tokens < WARM_PROMPT) {
            throw new IllegalStateException(
                    "a context of " + engine.maxContext() + " tokens is too short to time a prompt");
        }
        int[] prompt = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            prompt[i] = 1 + (i * 11 + 5 + round * 3) % 250;
        }
        String id = "kvasir-probe-prompt-" + round;
        long start = System.nanoTime();
        engine.addRequest(request(id, prompt, 1));
        while (engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                if (e.requestId().equals(id)) {
                    long took = System.nanoTime() - start;
                    if (!e.finished()) {
                        engine.abort(id);
                    }
                    return took;
                }
            }
        }
        throw new IllegalStateException("the timed prompt produced no token");
    }

    /** A batch of prompts that share no prefix (a cached one would compute nothing), decoded together. */
    private static void warm(InferenceEngine engine) {
        java.util.Set<String> open = new java.util.HashSet<>();
        for (int s = 0; s < WARM_SEQUENCES; s++) {
            int[] prompt = new int[WARM_PROMPT];
            for (int i = 0; i < WARM_PROMPT; i++) {
                prompt[i] = 1 + (s * 31 + i * 7) % 250; // ids every vocabulary has
            }
            String id = "kvasir-probe-warm-" + s;
            add(engine, id, prompt);
            open.add(id);
        }
        while (!open.isEmpty() && engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                if (e.finished()) {
                    open.remove(e.requestId());
                }
            }
        }
    }

    private static void add(InferenceEngine engine, String id, int[] prompt) {
        engine.addRequest(request(id, prompt, DECODE_STEPS + 1));
    }

    private static EngineRequest request(String id, int[] prompt, int maxTokens) {
        return new EngineRequest(
                id, prompt, SamplingParams.greedy(), maxTokens, List.of(), java.util.Set.of(), true, 0, "kvasir-probe");
    }

    private static long run(InferenceEngine engine, String id) {
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = 1 + i; // any ids: the probe times steps, its text is never read
        }
        add(engine, id, prompt);
        long[] steps = new long[DECODE_STEPS + 8];
        int n = 0;
        boolean finished = false;
        boolean prefilled = false;
        while (!finished && engine.hasWork()) {
            long start = System.nanoTime();
            List<TokenEvent> events = engine.step();
            long took = System.nanoTime() - start;
            if (prefilled && n < steps.length) {
                steps[n++] = took; // the first step computed the prompt: not a decode step
            }
            prefilled = true;
            finished = events.stream().anyMatch(e -> e.requestId().equals(id) && e.finished());
        }
        if (n == 0) {
            throw new IllegalStateException("the probe decoded nothing");
        }
        long[] decoded = Arrays.copyOf(steps, n);
        Arrays.sort(decoded);
        return decoded[n / 2];
    }
}
