package io.kvasir.engine.sampling;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The token history a request's penalties look at. The repetition penalty (llama.cpp style) covers
 * every id of the prompt and the output; presence and frequency penalties (OpenAI style) count
 * only generated ids. Nothing is kept for a penalty that is disabled.
 */
final class Penalties {

    private final float repetition;
    private final float presence;
    private final float frequency;
    private final BitSet seen; // prompt + output ids, for the repetition penalty
    private final Map<Integer, Integer> outputCounts; // generated ids, for presence and frequency

    Penalties(SamplingParams p, int[] promptTokens) {
        this.repetition = p.repetitionPenalty();
        this.presence = p.presencePenalty();
        this.frequency = p.frequencyPenalty();
        this.seen = repetition != 1f ? new BitSet() : null;
        this.outputCounts = presence != 0f || frequency != 0f ? new HashMap<>() : null;
        if (seen != null) {
            for (int t : promptTokens) {
                seen.set(t);
            }
        }
    }

    boolean enabled() {
        return seen != null || outputCounts != null;
    }

    void record(int token) {
        if (seen != null) {
            seen.set(token);
        }
        if (outputCounts != null) {
            outputCounts.merge(token, 1, Integer::sum);
        }
    }

    /** Penalizes {@code logits} in place. */
    void apply(float[] logits) {
        if (seen != null) {
            for (int id = seen.nextSetBit(0); id >= 0 && id < logits.length; id = seen.nextSetBit(id + 1)) {
                float l = logits[id];
                // Dividing a positive logit and multiplying a negative one both make the token less likely.
                logits[id] = l > 0 ? l / repetition : l * repetition;
            }
        }
        if (outputCounts != null) {
            for (Map.Entry<Integer, Integer> e : outputCounts.entrySet()) {
                int id = e.getKey();
                if (id < logits.length) {
                    logits[id] -= e.getValue() * frequency + presence;
                }
            }
        }
    }
}
