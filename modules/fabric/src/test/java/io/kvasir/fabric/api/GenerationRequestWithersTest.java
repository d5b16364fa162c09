package io.kvasir.fabric.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other component of the request. */
class GenerationRequestWithersTest {

    private static final GenerationRequest FULL = new GenerationRequest(
            "m",
            "s",
            List.of(new ChatMessage("user", "hi")),
            "p",
            SamplingParams.greedy(),
            7,
            List.of("stop"),
            GenerationRequest.Workload.BATCH,
            "tenant",
            "scope",
            ResponseFormat.JSON_OBJECT,
            "hint",
            "[]",
            PromptOptions.NONE.withTokenIds(new int[] {1, 2}),
            "{\"tool_choice\":\"auto\"}");

    @Test
    void eachWitherChangesOnlyItsComponents() throws Exception {
        check(r -> r.withScope("other"), "scope");
        check(r -> r.forTenant("t2", "s2"), "tenant", "scope");
        check(r -> r.withWorkload(GenerationRequest.Workload.INTERACTIVE), "workload");
        check(r -> r.withModel("m2"), "model");
        check(r -> r.withSampling(SamplingParams.greedy().withSeed(3L)), "sampling");
        check(r -> r.withMaxTokens(9), "maxTokens");
        check(r -> r.withTierHint("high"), "tierHint");
        check(r -> r.withResponseFormat(ResponseFormat.TEXT), "responseFormat");
        check(r -> r.withTools("[{}]"), "tools");
        check(r -> r.withPromptOptions(PromptOptions.NONE), "promptOptions");
        check(r -> r.withToolChoice(null), "toolChoice");
    }

    private static void check(UnaryOperator<GenerationRequest> wither, String... changed) throws Exception {
        GenerationRequest copy = wither.apply(FULL);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : GenerationRequest.class.getRecordComponents()) {
            Object before = c.getAccessor().invoke(FULL);
            Object after = c.getAccessor().invoke(copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isSameAs(before);
            }
        }
    }
}
