package io.kvasir.fabric.api;

import io.kvasir.engine.RecordWithers;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.List;
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
    void eachWitherChangesOnlyItsComponents() {
        RecordWithers.assertChangesOnly(FULL, r -> r.withScope("other"), "scope");
        RecordWithers.assertChangesOnly(FULL, r -> r.forTenant("t2", "s2"), "tenant", "scope");
        RecordWithers.assertChangesOnly(FULL, r -> r.withWorkload(GenerationRequest.Workload.INTERACTIVE), "workload");
        RecordWithers.assertChangesOnly(FULL, r -> r.withModel("m2"), "model");
        RecordWithers.assertChangesOnly(
                FULL, r -> r.withSampling(SamplingParams.greedy().withSeed(3L)), "sampling");
        RecordWithers.assertChangesOnly(FULL, r -> r.withMaxTokens(9), "maxTokens");
        RecordWithers.assertChangesOnly(FULL, r -> r.withTierHint("high"), "tierHint");
        RecordWithers.assertChangesOnly(FULL, r -> r.withResponseFormat(ResponseFormat.TEXT), "responseFormat");
        RecordWithers.assertChangesOnly(FULL, r -> r.withTools("[{}]"), "tools");
        RecordWithers.assertChangesOnly(FULL, r -> r.withPromptOptions(PromptOptions.NONE), "promptOptions");
        RecordWithers.assertChangesOnly(FULL, r -> r.withToolChoice(null), "toolChoice");
    }
}
