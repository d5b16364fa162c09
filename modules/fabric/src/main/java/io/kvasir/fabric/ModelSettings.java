package io.kvasir.fabric;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * One served model, from {@code kvasir.models.<id>} over {@code kvasir.model-defaults}.
 *
 * @param pools            replicas per pool ({@code decode}, {@code prefill}); a pool with 0 has none
 * @param maxInFlight      requests in flight in the whole cluster at once, every gateway's together
 * @param admissionQueue   requests that wait at one gateway beyond those; more are refused (429)
 * @param prefillThreshold uncached prompt tokens from which a prefill replica takes the prefill
 * @param maxBatchTokens   token budget of one engine step (decodes plus prefill chunks): lower
 *                         keeps running streams' inter-token latency even while long prompts are
 *                         prefilled, higher prefills faster
 * @param maxNumSeqs       sequences one engine step runs at most
 * @param kvPrecision      {@code F16} or {@code F32}: how the KV cache stores keys and values
 */
public record ModelSettings(
        String id,
        Path path,
        int maxModelLength,
        int kvCacheBlocks,
        int kvBlockSize,
        Map<String, Integer> pools,
        int maxInFlight,
        int admissionQueue,
        int prefillThreshold,
        int maxBatchTokens,
        int maxNumSeqs,
        String kvPrecision,
        String ownedBy,
        boolean simulated,
        boolean synthetic) {

    public static final String DECODE = "decode";
    public static final String PREFILL = "prefill";

    public ModelSettings {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("model id must not be blank");
        }
        requirePositive(id, "max-model-length", maxModelLength);
        requirePositive(id, "kv-cache-blocks", kvCacheBlocks);
        requirePositive(id, "kv-block-size", kvBlockSize);
        requirePositive(id, "max-in-flight", maxInFlight);
        requirePositive(id, "max-batch-tokens", maxBatchTokens);
        requirePositive(id, "max-num-seqs", maxNumSeqs);
        if (!"F16".equals(kvPrecision) && !"F32".equals(kvPrecision)) {
            throw new IllegalArgumentException("model " + id + ": kv-precision must be F16 or F32, got '"
                    + kvPrecision + "'");
        }
        if (admissionQueue < 0) {
            throw new IllegalArgumentException("model " + id + ": admission-queue-size must be >= 0");
        }
        pools = Map.copyOf(pools);
        for (var pool : pools.entrySet()) {
            if (!pool.getKey().equals(DECODE) && !pool.getKey().equals(PREFILL)) {
                throw new IllegalArgumentException("model " + id + ": unknown pool '" + pool.getKey()
                        + "' (pools are " + DECODE + " and " + PREFILL + ")");
            }
            if (pool.getValue() < 0) {
                throw new IllegalArgumentException("model " + id + ": pool " + pool.getKey() + " needs >= 0 replicas");
            }
        }
        if (replicas(pools, DECODE) < 1) {
            throw new IllegalArgumentException("model " + id + ": needs at least one decode replica");
        }
    }

    /** Reads a model's block; keys it lacks come from {@code defaults}. */
    public static ModelSettings from(String id, Config model, Config defaults) {
        Config c = model.withFallback(defaults);
        Map<String, Integer> pools = new TreeMap<>();
        Config poolConfig = c.getConfig("pools");
        for (String pool : poolConfig.root().keySet()) {
            pools.put(pool, poolConfig.getInt(pool));
        }
        return new ModelSettings(id, Path.of(c.getString("path")), c.getInt("max-model-length"),
                c.getInt("kv-cache-blocks"), c.getInt("kv-block-size"), pools, c.getInt("max-in-flight"),
                c.getInt("admission-queue-size"), c.getInt("prefill-threshold"), c.getInt("max-batch-tokens"),
                c.getInt("max-num-seqs"), c.getString("kv-precision"), c.getString("owned-by"),
                c.getBoolean("simulated"), c.getBoolean("synthetic"));
    }

    public int replicas(String pool) {
        return replicas(pools, pool);
    }

    public boolean hasPrefillPool() {
        return replicas(PREFILL) > 0;
    }

    private static int replicas(Map<String, Integer> pools, String pool) {
        return pools.getOrDefault(pool, 0);
    }

    private static void requirePositive(String id, String key, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException("model " + id + ": " + key + " must be positive, got " + value);
        }
    }
}
