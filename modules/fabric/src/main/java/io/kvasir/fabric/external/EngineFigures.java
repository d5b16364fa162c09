package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * What an external engine says of its own load, read from its Prometheus {@code /metrics} text.
 * Each figure is the sum over label sets (an engine serving one model has one). A figure the engine
 * does not export stays at -1 and the replica falls back to what Kvasir itself knows (its turns in
 * flight there).
 *
 * @param engine         {@code vllm}, {@code sglang}, {@code llamacpp}, or null when none was recognised
 * @param running        requests the engine is running
 * @param waiting        requests queued inside the engine
 * @param kvUsage        share of its KV cache in use, 0..1
 * @param prefixQueries  prompt tokens looked up in its prefix cache, over its life
 * @param prefixHits     of those, found cached
 * @param slots          requests the engine runs at once (llama.cpp's slots, from {@code /slots});
 *                       -1 when these figures do not say (metrics never do)
 */
public record EngineFigures(
        String engine,
        int running,
        int waiting,
        double kvUsage,
        long prefixQueries,
        long prefixHits,
        long preemptions,
        long promptTokens,
        long generatedTokens,
        int slots) {

    public static final EngineFigures UNKNOWN = new EngineFigures(null, -1, -1, -1, -1, -1, -1, -1, -1, -1);

    private static final ObjectMapper JSON = new ObjectMapper();

    public boolean known() {
        return engine != null;
    }

    /** Reads the figures of the first engine whose metric names appear in {@code text}. */
    public static EngineFigures parse(String text) {
        Map<String, Double> sums = sums(text);
        if (sums.containsKey("vllm:num_requests_running")) {
            return new EngineFigures(
                    "vllm",
                    intOf(sums, "vllm:num_requests_running"),
                    intOf(sums, "vllm:num_requests_waiting"),
                    first(sums, "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
                    longOf(sums, "vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
                    longOf(sums, "vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
                    longOf(sums, "vllm:num_preemptions_total"),
                    longOf(sums, "vllm:prompt_tokens_total"),
                    longOf(sums, "vllm:generation_tokens_total"),
                    -1);
        }
        if (sums.containsKey("sglang:num_running_reqs")) {
            return new EngineFigures(
                    "sglang",
                    intOf(sums, "sglang:num_running_reqs"),
                    intOf(sums, "sglang:num_queue_reqs"),
                    first(sums, "sglang:token_usage"),
                    -1,
                    -1,
                    -1,
                    longOf(sums, "sglang:prompt_tokens_total"),
                    longOf(sums, "sglang:generation_tokens_total"),
                    -1);
        }
        if (sums.containsKey("llamacpp:requests_processing")) {
            return new EngineFigures(
                    "llamacpp",
                    intOf(sums, "llamacpp:requests_processing"),
                    intOf(sums, "llamacpp:requests_deferred"),
                    first(sums, "llamacpp:kv_cache_usage_ratio"),
                    -1,
                    -1,
                    -1,
                    longOf(sums, "llamacpp:prompt_tokens_total"),
                    longOf(sums, "llamacpp:tokens_predicted_total"),
                    -1);
        }
        return UNKNOWN;
    }

    /**
     * Reads llama.cpp's {@code /slots} (a server started without {@code --metrics}): one object per
     * slot, busy while {@code is_processing}. Requests waiting for a slot are not listed there.
     *
     * @throws IllegalArgumentException when the text is not a list of slots (another engine's page)
     */
    public static EngineFigures parseSlots(String json) {
        JsonNode slots;
        try {
            slots = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a /slots answer: " + e.getMessage());
        }
        if (slots == null
                || !slots.isArray()
                || slots.isEmpty()
                || !slots.get(0).has("is_processing")) {
            throw new IllegalArgumentException("not a /slots answer");
        }
        int busy = 0;
        for (var slot : slots) {
            busy += slot.path("is_processing").asBoolean(false) ? 1 : 0;
        }
        return new EngineFigures("llamacpp", busy, -1, -1, -1, -1, -1, -1, -1, slots.size());
    }

    /** Metric name (labels dropped) to the sum of its samples. */
    private static Map<String, Double> sums(String text) {
        Map<String, Double> sums = new HashMap<>();
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int labels = line.indexOf('{');
            int space;
            String name;
            if (labels >= 0) {
                name = line.substring(0, labels);
                int close = line.lastIndexOf('}');
                if (close < 0) {
                    continue;
                }
                space = close + 1;
            } else {
                space = line.indexOf(' ');
                if (space < 0) {
                    continue;
                }
                name = line.substring(0, space);
            }
            String[] rest = line.substring(space).strip().split("\\s+");
            try {
                double value = Double.parseDouble(rest[0]);
                if (Double.isFinite(value)) {
                    sums.merge(name, value, Double::sum);
                }
            } catch (NumberFormatException e) {
                // Not a sample line we understand; one odd line must not cost the whole reading.
            }
        }
        return sums;
    }

    private static double first(Map<String, Double> sums, String... names) {
        for (String name : names) {
            Double v = sums.get(name);
            if (v != null) {
                return v;
            }
        }
        return -1;
    }

    private static int intOf(Map<String, Double> sums, String name) {
        Double v = sums.get(name);
        return v == null ? -1 : (int) Math.round(v);
    }

    private static long longOf(Map<String, Double> sums, String... names) {
        double v = first(sums, names);
        return v < 0 ? -1 : Math.round(v);
    }
}
