package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.http.ApiError;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * Legacy completions' {@code best_of}: how many candidates, and which of them win. A candidate's
 * score is its tokens' summed log-probability (temperature 1, as the engine reports them), the
 * "highest log probability per token" OpenAI ranks by, summed; ties go to the earlier candidate, so
 * a seeded request picks the same choices every time.
 */
final class BestOf {

    private BestOf() {}

    /**
     * {@code best_of} from the body, {@code n} when absent; a 400 naming it when it is below
     * {@code n}, or above {@code n} on a streamed request (the candidates must all be finished
     * before the best is known, so there is nothing to stream; OpenAI refuses the same).
     */
    static int count(JsonNode body, int n) {
        JsonNode node = body == null ? null : body.get("best_of");
        if (node == null || node.isNull()) {
            return n;
        }
        if (!node.isIntegralNumber()
                || !node.canConvertToInt()
                || node.intValue() < 1
                || node.intValue() > Choices.MAX) {
            throw ApiError.invalid("'best_of' must be an integer from 1 to " + Choices.MAX + ".", "best_of")
                    .toException();
        }
        int bestOf = node.intValue();
        if (bestOf < n) {
            throw ApiError.invalid(
                            "'best_of' (" + bestOf + ") must be at least 'n' (" + n + "): it is how many candidates"
                                    + " the n choices are picked from.",
                            "best_of")
                    .toException();
        }
        JsonNode stream = body.get("stream");
        if (bestOf > n && stream != null && stream.asBoolean(false)) {
            throw ApiError.invalid(
                            "'best_of' greater than 'n' cannot be streamed: the best candidates are known only once"
                                    + " all have finished.",
                            "best_of")
                    .toException();
        }
        return bestOf;
    }

    /** Indices of the {@code n} highest scores, best first; ties to the lower index. */
    static int[] rank(double[] scores, int n) {
        return IntStream.range(0, scores.length)
                .boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -scores[i]).thenComparingInt(i -> i))
                .limit(n)
                .mapToInt(Integer::intValue)
                .toArray();
    }

    /** The merged answer with usage counting every candidate's tokens. */
    static Object withCompletionTokens(Object merged, int completionTokens) {
        ObjectNode body = OpenAiJson.MAPPER.valueToTree(merged);
        if (body.get("usage") instanceof ObjectNode usage) {
            int prompt = usage.path("prompt_tokens").asInt();
            usage.put("completion_tokens", completionTokens);
            usage.put("total_tokens", prompt + completionTokens);
        }
        return body;
    }
}
