package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.api.GenerationEvent.TopLogprob;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnToken;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An engine's log-probabilities for one streamed delta, as a {@link TurnToken}. Chat chunks carry
 * {@code logprobs.content}: one entry per token with its {@code logprob} and {@code top_logprobs}
 * ({@code token}, {@code logprob}); text completion chunks carry {@code logprobs.token_logprobs}
 * and {@code logprobs.top_logprobs} (token to logprob). A delta of several tokens gets their joint
 * log-probability (the sum) and its first token's alternatives, at most {@code keep} of them (the
 * engine is asked for at least one, since llama.cpp's server reads 0 as "none"). Token ids are
 * unknown (-1): the engine speaks text. A delta without log-probabilities gets NaN (shown as null),
 * never 0, which would claim certainty.
 */
final class EngineLogprobs {

    private EngineLogprobs() {}

    static TurnToken token(String text, JsonNode logprobs, int keep) {
        if (logprobs == null || !logprobs.isObject()) {
            return new TurnToken(-1, text, Float.NaN, List.of());
        }
        JsonNode content = logprobs.path("content");
        if (content.isArray() && !content.isEmpty()) {
            double sum = 0;
            for (JsonNode entry : content) {
                sum += entry.path("logprob").asDouble(0);
            }
            List<TopLogprob> top = new ArrayList<>();
            for (JsonNode alternative : content.get(0).path("top_logprobs")) {
                if (top.size() == keep) {
                    break;
                }
                top.add(new TopLogprob(-1, alternative.path("token").asText(""), (float)
                        alternative.path("logprob").asDouble(0)));
            }
            return new TurnToken(-1, text, (float) sum, List.copyOf(top));
        }
        JsonNode chosen = logprobs.path("token_logprobs");
        if (chosen.isArray() && !chosen.isEmpty()) {
            double sum = 0;
            for (JsonNode lp : chosen) {
                sum += lp.asDouble(0);
            }
            List<TopLogprob> top = new ArrayList<>();
            JsonNode first = logprobs.path("top_logprobs").path(0);
            for (Iterator<Map.Entry<String, JsonNode>> it = first.fields(); it.hasNext() && top.size() < keep; ) {
                Map.Entry<String, JsonNode> e = it.next();
                top.add(new TopLogprob(-1, e.getKey(), (float) e.getValue().asDouble(0)));
            }
            return new TurnToken(-1, text, (float) sum, List.copyOf(top));
        }
        return new TurnToken(-1, text, Float.NaN, List.of());
    }
}
