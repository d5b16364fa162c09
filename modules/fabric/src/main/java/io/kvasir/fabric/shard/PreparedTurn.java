package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.PromptScoring;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import java.util.Set;

/**
 * A turn whose prompt is rendered, tokenized and checked against the model's context: what the
 * engine runs. Rendered once per placement and carried as it is through a disaggregated prefill.
 *
 * @param prompt    the prompt's token ids, continuation tokens included
 * @param maxTokens tokens still to generate
 * @param resumed   how many of the prompt's last tokens are output sent before (a resumed turn)
 * @param scoring   what the engine computes over the prompt (the request's {@code PromptOptions}
 *                  with this model's pooling); null: nothing
 */
record PreparedTurn(GenerationRequest request, int[] prompt, int maxTokens, int resumed, PromptScoring scoring) {

    PreparedTurn(GenerationRequest request, int[] prompt, int maxTokens) {
        this(request, prompt, maxTokens, 0, null);
    }

    PreparedTurn(GenerationRequest request, int[] prompt, int maxTokens, int resumed) {
        this(request, prompt, maxTokens, resumed, null);
    }

    PreparedTurn withScoring(PromptScoring s) {
        return new PreparedTurn(request, prompt, maxTokens, resumed, s);
    }

    boolean scoresPrompt() {
        return PromptScoring.active(scoring);
    }

    static final int INTERACTIVE_PRIORITY = 0;
    static final int BATCH_PRIORITY = 10;

    /** The engine's request under {@code engineId}, which is unique among the replica's live requests. */
    EngineRequest toEngineRequest(String engineId) {
        SamplingParams sampling = request.sampling() != null ? request.sampling() : SamplingParams.greedy();
        if (resumed > 0 && sampling.minTokens() > 0) {
            // The tokens sent before the resume count towards min_tokens, as they do towards max tokens.
            sampling = sampling.withLength(sampling.ignoreEos(), Math.max(0, sampling.minTokens() - resumed));
        }
        List<String> stop = request.stop() != null ? List.copyOf(request.stop()) : List.of();
        int priority = request.workload() == GenerationRequest.Workload.BATCH ? BATCH_PRIORITY : INTERACTIVE_PRIORITY;
        return new EngineRequest(
                        engineId,
                        prompt,
                        sampling,
                        maxTokens,
                        stop,
                        Set.of(),
                        sampling.ignoreEos(),
                        priority,
                        request.scope())
                .withResponseFormat(request.responseFormat(), resumed)
                .withPromptScoring(scoring);
    }
}
