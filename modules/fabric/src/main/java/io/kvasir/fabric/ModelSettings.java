package io.kvasir.fabric;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * One served model, from {@code kvasir.models.<id>} over {@code kvasir.model-defaults}.
 *
 * @param path             the GGUF file, or a hub reference ({@code hf://...}) that a Path holds as
 *                         {@code hf:/...}; {@link io.kvasir.engine.hub.ModelLocator} resolves either
 * @param pools            replicas per pool ({@code decode}, {@code prefill}); a pool with 0 has none
 * @param maxInFlight      requests in flight in the whole cluster at once, every gateway's together
 * @param admissionQueue   requests that wait at one gateway beyond those; more are refused (429)
 * @param prefillThreshold uncached prompt tokens from which a prefill replica takes the prefill
 * @param maxBatchTokens   token budget of one engine step (decodes plus prefill chunks): lower
 *                         keeps running streams' inter-token latency even while long prompts are
 *                         prefilled, higher prefills faster
 * @param maxNumSeqs       sequences one engine step runs at most
 * @param kvPrecision      {@code F16} or {@code F32}: how the KV cache stores keys and values
 * @param longPrefillThreshold uncomputed prompt tokens above which a prefill is "long" (0: the
 *                         step budget); long prefills share each step with short ones
 * @param longPrefillShare the most of a step's prefill budget long prefills take while short
 *                         ones wait (0..1]
 * @param itlObjective     the step time (inter-token latency) a replica keeps its running batch
 *                         within; zero: derived from its own lone-sequence steps ({@code auto})
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
        int longPrefillThreshold,
        double longPrefillShare,
        java.time.Duration itlObjective,
        String ownedBy,
        boolean simulated,
        boolean synthetic,
        String engine,
        io.kvasir.fabric.external.ExternalSettings external) {

    public static final String DECODE = "decode";
    public static final String PREFILL = "prefill";

    /** The engine kinds: Kvasir's own, or external OpenAI-compatible servers (see external-engines.md). */
    public static final String LOCAL_ENGINE = "local";

    public static final String OPENAI_HTTP_ENGINE = "openai-http";

    /** A model on Kvasir's own engine (the form every caller used before external engines). */
    public ModelSettings(
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
            int longPrefillThreshold,
            double longPrefillShare,
            java.time.Duration itlObjective,
            String ownedBy,
            boolean simulated,
            boolean synthetic) {
        this(
                id,
                path,
                maxModelLength,
                kvCacheBlocks,
                kvBlockSize,
                pools,
                maxInFlight,
                admissionQueue,
                prefillThreshold,
                maxBatchTokens,
                maxNumSeqs,
                kvPrecision,
                longPrefillThreshold,
                longPrefillShare,
                itlObjective,
                ownedBy,
                simulated,
                synthetic,
                LOCAL_ENGINE,
                null);
    }

    /** Whether this model's replicas are external OpenAI-compatible servers. */
    public boolean isExternal() {
        return external != null;
    }

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
            throw new IllegalArgumentException(
                    "model " + id + ": kv-precision must be F16 or F32, got '" + kvPrecision + "'");
        }
        if (longPrefillThreshold < 0) {
            throw new IllegalArgumentException("model " + id + ": long-prefill-threshold must be >= 0");
        }
        if (!(longPrefillShare > 0 && longPrefillShare <= 1)) {
            throw new IllegalArgumentException(
                    "model " + id + ": long-prefill-share must be in (0, 1], got " + longPrefillShare);
        }
        if (admissionQueue < 0) {
            throw new IllegalArgumentException("model " + id + ": admission-queue-size must be >= 0");
        }
        if (engine == null) {
            engine = LOCAL_ENGINE;
        }
        if (!engine.equals(LOCAL_ENGINE) && !engine.equals(OPENAI_HTTP_ENGINE)) {
            throw new IllegalArgumentException("model " + id + ": engine must be " + LOCAL_ENGINE + " or "
                    + OPENAI_HTTP_ENGINE + ", got '" + engine + "'");
        }
        if (engine.equals(OPENAI_HTTP_ENGINE) != (external != null)) {
            throw new IllegalArgumentException("model " + id + ": engine " + engine + " and its settings disagree");
        }
        if (external != null) {
            // One decode replica per endpoint; an external engine prefills for itself.
            pools = Map.of(DECODE, external.replicas(), PREFILL, 0);
        }
        pools = Map.copyOf(pools);
        for (var pool : pools.entrySet()) {
            if (!pool.getKey().equals(DECODE) && !pool.getKey().equals(PREFILL)) {
                throw new IllegalArgumentException("model " + id + ": unknown pool '" + pool.getKey() + "' (pools are "
                        + DECODE + " and " + PREFILL + ")");
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
        return new ModelSettings(
                id,
                path(id, c.getString("path")),
                c.getInt("max-model-length"),
                c.getInt("kv-cache-blocks"),
                c.getInt("kv-block-size"),
                pools,
                c.getInt("max-in-flight"),
                c.getInt("admission-queue-size"),
                c.getInt("prefill-threshold"),
                c.getInt("max-batch-tokens"),
                c.getInt("max-num-seqs"),
                c.getString("kv-precision"),
                c.getInt("long-prefill-threshold"),
                c.getDouble("long-prefill-share"),
                itlObjective(id, c.getString("itl-objective")),
                c.getString("owned-by"),
                c.getBoolean("simulated"),
                c.getBoolean("synthetic"),
                c.getString("engine"),
                c.getString("engine").equals(OPENAI_HTTP_ENGINE)
                        ? io.kvasir.fabric.external.ExternalSettings.from(id, c.getConfig("openai-http"))
                        : null);
    }

    /**
     * The model's file, or its hub reference checked now so a typo fails at start-up; the
     * reference stays unresolved (as a path, {@code hf:/OWNER/...}) until a node loads the model.
     */
    private static Path path(String id, String value) {
        try {
            io.kvasir.engine.hub.ModelLocator.isHub(value);
            return Path.of(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("model " + id + ": path: " + e.getMessage(), e);
        }
    }

    /** {@code auto} (zero) or a duration. */
    private static java.time.Duration itlObjective(String id, String value) {
        if (value.strip().equalsIgnoreCase("auto")) {
            return java.time.Duration.ZERO;
        }
        try {
            java.time.Duration d = com.typesafe.config.ConfigFactory.parseString("d = " + value)
                    .getDuration("d");
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("must be positive");
            }
            return d;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("model " + id + ": itl-objective must be 'auto' or a positive duration "
                    + "such as 50ms, got '" + value + "'");
        }
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
