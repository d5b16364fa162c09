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
 * Warms a freshly loaded engine, then times a lone sequence's decode step before it takes any turn:
 * the unloaded figure an automatic inter-token objective is derived from. The warm-up is a small
 * batch ({@value #WARM_SEQUENCES} prompts of {@value #WARM_PROMPT} distinct tokens, decoded
 * together), so that the batched prompt and decode kernels are compiled before clients arrive, not
 * by them; then a lone generation whose median decode step is the answer. About forty steps in all.
 *
 * <p>Measured without the batch (a lone warm-up generation only): the first eight requests arriving
 * together at a new bench-110m replica had their first tokens at 3.3-4.1 s, against about 1 s once
 * warm, and what the admission forecast learnt from them refused two of the next eight.
 */
final class LoneStepProbe {

    private static final Logger log = LoggerFactory.getLogger(LoneStepProbe.class);
    private static final int PROMPT = 16;
    private static final int DECODE_STEPS = 16;
    private static final int WARM_SEQUENCES = 8;
    private static final int WARM_PROMPT = 32;

    private LoneStepProbe() {}

    /** The median decode step in nanoseconds, or 0 when the engine could not run the probe. */
    static long measure(InferenceEngine engine) {
        try {
            warm(engine);
            long median = run(engine, "kvasir-probe");
            log.debug("lone decode step {} us", median / 1000);
            return median;
        } catch (RuntimeException e) {
            log.warn(
                    "could not time a lone decode step ({}); the ITL objective follows the first steps served",
                    e.toString());
            return 0;
        }
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
        engine.addRequest(new EngineRequest(
                id,
                prompt,
                SamplingParams.greedy(),
                DECODE_STEPS + 1,
                List.of(),
                java.util.Set.of(),
                true,
                0,
                "kvasir-probe"));
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
