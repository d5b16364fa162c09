package io.kvasir.engine.sampling;

import io.kvasir.engine.RecordWithers;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other parameter. */
class SamplingParamsWithersTest {

    private static final SamplingParams FULL =
            new SamplingParams(0.7f, 40, 0.9f, 0.05f, 1.1f, 0.2f, 0.3f, 5L, 2, Map.of(7, 1.5f), true, true, 3);

    @Test
    void eachWitherChangesOnlyItsParameters() {
        RecordWithers.assertChangesOnly(FULL, p -> p.withSeed(6L), "seed");
        RecordWithers.assertChangesOnly(FULL, p -> p.withLogitBias(Map.of(8, -1f)), "logitBias");
        RecordWithers.assertChangesOnly(FULL, p -> p.withTopLogprobs(4), "topLogprobs");
        RecordWithers.assertChangesOnly(FULL, p -> p.withLogprobs(false), "logprobs");
        RecordWithers.assertChangesOnly(FULL, p -> p.withLength(false, 9), "ignoreEos", "minTokens");
    }
}
