package io.kvasir.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other parameter. */
class SamplingParamsWithersTest {

    private static final SamplingParams FULL =
            new SamplingParams(0.7f, 40, 0.9f, 0.05f, 1.1f, 0.2f, 0.3f, 5L, 2, Map.of(7, 1.5f), true, true, 3);

    @Test
    void eachWitherChangesOnlyItsParameters() throws Exception {
        check(p -> p.withSeed(6L), "seed");
        check(p -> p.withLogitBias(Map.of(8, -1f)), "logitBias");
        check(p -> p.withTopLogprobs(4), "topLogprobs");
        check(p -> p.withLogprobs(false), "logprobs");
        check(p -> p.withLength(false, 9), "ignoreEos", "minTokens");
    }

    private static void check(UnaryOperator<SamplingParams> wither, String... changed) throws Exception {
        SamplingParams copy = wither.apply(FULL);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : SamplingParams.class.getRecordComponents()) {
            Object before = c.getAccessor().invoke(FULL);
            Object after = c.getAccessor().invoke(copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isEqualTo(before);
            }
        }
    }
}
