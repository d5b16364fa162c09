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
 * Times a lone sequence's decode step on a freshly loaded engine, before it takes any turn: the
 * unloaded figure an automatic inter-token objective is derived from. Two short generations run
 * back to back; the first warms the compiled kernels, the median decode step of the second is the
 * answer. About forty steps in all: well under a second for the models this engine serves.
 */
final class LoneStepProbe {

    private static final Logger log = LoggerFactory.getLogger(LoneStepProbe.class);
    private static final int PROMPT = 16;
    private static final int DECODE_STEPS = 16;

    private LoneStepProbe() {}

    /** The median decode step in nanoseconds, or 0 when the engine could not run the probe. */
    static long measure(InferenceEngine engine) {
        try {
            run(engine, "kvasir-probe-warm");
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

    private static long run(InferenceEngine engine, String id) {
        int[] prompt = new int[PROMPT];
        for (int i = 0; i < PROMPT; i++) {
            prompt[i] = 1 + i; // any ids: the probe times steps, its text is never read
        }
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
