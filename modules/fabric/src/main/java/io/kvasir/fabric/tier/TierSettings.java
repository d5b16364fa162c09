package io.kvasir.fabric.tier;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A tiered model id ({@code kvasir.tiers.<id>}): served models from cheapest to strongest, and the
 * rules that send a request past a tier. Every rule applies to every tier but the last, which takes
 * whatever the others pass on.
 *
 * @param id                    the id clients ask for (e.g. {@code auto})
 * @param models                served model ids, cheapest first (at least two)
 * @param maxPromptTokens       prompts estimated longer skip the cheaper tiers; 0: no such rule
 * @param maxTokens             requests asking for more output skip them; 0: no such rule
 * @param strongHints           {@code reasoning_effort} values or {@code X-Kvasir-Tier} hints that
 *                              go straight to the strongest tier
 * @param spillWhenOverloaded   a tier that refuses for load (429) passes the request on
 * @param escalateBelowLogprob  a cheaper tier's whole answer whose mean token log-probability is
 *                              below this is discarded and the next tier answers instead; NaN: off
 */
public record TierSettings(
        String id,
        List<String> models,
        int maxPromptTokens,
        int maxTokens,
        Set<String> strongHints,
        boolean spillWhenOverloaded,
        double escalateBelowLogprob) {

    /** Every setting a tier block may hold: a mistyped rule must not be silently absent. */
    private static final Set<String> KEYS = Set.of(
            "models",
            "max-prompt-tokens",
            "max-tokens",
            "strong-hints",
            "spill-when-overloaded",
            "escalate-below-mean-logprob");

    public TierSettings {
        models = List.copyOf(models);
        strongHints = Set.copyOf(strongHints);
        if (models.size() < 2) {
            throw new IllegalArgumentException("tier '" + id + "' needs at least two models, cheapest first");
        }
    }

    public boolean escalates() {
        return !Double.isNaN(escalateBelowLogprob);
    }

    /** Reads {@code kvasir.tiers}; each tier's models must be served models. */
    public static Map<String, TierSettings> from(Config tiers, Set<String> servedModels) {
        Map<String, TierSettings> out = new LinkedHashMap<>();
        for (String id : tiers.root().keySet()) {
            Config c = tiers.getConfig("\"" + id + "\"");
            for (String key : c.root().keySet()) {
                if (!KEYS.contains(key)) {
                    throw new IllegalArgumentException("tier '" + id + "' has an unknown setting '" + key + "' (known: "
                            + String.join(", ", new java.util.TreeSet<>(KEYS)) + ")");
                }
            }
            if (servedModels.contains(id)) {
                throw new IllegalArgumentException("tier '" + id + "' has the id of a served model");
            }
            List<String> models = c.getStringList("models");
            for (String m : models) {
                if (!servedModels.contains(m)) {
                    throw new IllegalArgumentException(
                            "tier '" + id + "' names model '" + m + "', which is not under kvasir.models");
                }
            }
            out.put(
                    id,
                    new TierSettings(
                            id,
                            models,
                            c.hasPath("max-prompt-tokens") ? c.getInt("max-prompt-tokens") : 0,
                            c.hasPath("max-tokens") ? c.getInt("max-tokens") : 0,
                            c.hasPath("strong-hints")
                                    ? c.getStringList("strong-hints").stream()
                                            .map(h -> h.toLowerCase(Locale.ROOT))
                                            .collect(Collectors.toSet())
                                    : Set.of("high"),
                            !c.hasPath("spill-when-overloaded") || c.getBoolean("spill-when-overloaded"),
                            c.hasPath("escalate-below-mean-logprob")
                                    ? c.getDouble("escalate-below-mean-logprob")
                                    : Double.NaN));
        }
        return Map.copyOf(out);
    }
}
