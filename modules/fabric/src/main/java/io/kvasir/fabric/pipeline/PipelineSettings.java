package io.kvasir.fabric.pipeline;

import com.typesafe.config.Config;
import io.kvasir.fabric.ModelSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How one model's layers are split into pipeline stages, from {@code kvasir.models.<id>} over
 * {@code kvasir.model-defaults} (keys absent from both take the defaults below, so a model without
 * them is one whole replica as before).
 *
 * @param stages       {@code pipeline-stages}: contiguous layer ranges, one per node where there
 *                     are enough; 1 (the default) is no pipeline
 * @param split        {@code pipeline-split}: the first layer of stages 2..N, strictly increasing;
 *                     empty (the default) splits evenly by weight bytes
 * @param microBatches {@code pipeline-micro-batches}: parts a step's sequences are split into so
 *                     that several stages work at once; 0 (the default) is one per stage
 * @param f16Wire      {@code pipeline-wire = F16}: hidden states travel as half floats (half the
 *                     bytes, not bit-exact with a single node); {@code F32}, the default, is exact
 * @param stepTimeout  {@code pipeline-step-timeout}: a step whose results do not come back within
 *                     this ends the pipeline (its turns resume elsewhere)
 * @param placementWait {@code pipeline-placement-wait}: how long the first stage waits at load, until
 *                     its node has once seen as many decode nodes up as stages, before it places
 *                     several stages on one node
 */
public record PipelineSettings(
        int stages,
        List<Integer> split,
        int microBatches,
        boolean f16Wire,
        Duration stepTimeout,
        Duration placementWait) {

    public static final PipelineSettings NONE =
            new PipelineSettings(1, List.of(), 0, false, Duration.ofSeconds(30), Duration.ofSeconds(10));

    public PipelineSettings {
        split = List.copyOf(split);
    }

    public boolean pipelined() {
        return stages > 1;
    }

    /** Micro-batches per step: the setting, or one per stage. */
    public int effectiveMicroBatches() {
        return microBatches > 0 ? microBatches : stages;
    }

    /**
     * Every configured model's pipeline settings. A bad value, or a pipeline a model cannot have
     * (an external or simulated engine, a prefill pool), is an {@link IllegalArgumentException}
     * naming the model and the key: the node refuses to start, as for any other bad model setting.
     */
    public static Map<String, PipelineSettings> all(Config root, Map<String, ModelSettings> models) {
        Config k = root.getConfig("kvasir");
        Config defaults = k.getConfig("model-defaults");
        Config modelsConfig = k.getConfig("models");
        Map<String, PipelineSettings> out = new LinkedHashMap<>();
        for (ModelSettings model : models.values()) {
            Config c = modelsConfig
                    .getConfig("\"" + model.id().replace("\"", "\\\"") + "\"")
                    .withFallback(defaults);
            out.put(model.id(), from(model, c));
        }
        return out;
    }

    static PipelineSettings from(ModelSettings model, Config c) {
        String id = model.id();
        int stages = c.hasPath("pipeline-stages") ? c.getInt("pipeline-stages") : NONE.stages;
        List<Integer> split = c.hasPath("pipeline-split") ? c.getIntList("pipeline-split") : NONE.split;
        int micro = c.hasPath("pipeline-micro-batches") ? c.getInt("pipeline-micro-batches") : NONE.microBatches;
        String wire = c.hasPath("pipeline-wire") ? c.getString("pipeline-wire") : "F32";
        Duration timeout =
                c.hasPath("pipeline-step-timeout") ? c.getDuration("pipeline-step-timeout") : NONE.stepTimeout;
        Duration wait =
                c.hasPath("pipeline-placement-wait") ? c.getDuration("pipeline-placement-wait") : NONE.placementWait;
        if (stages < 1) {
            throw new IllegalArgumentException("model " + id + ": pipeline-stages must be at least 1, got " + stages);
        }
        if (!split.isEmpty()) {
            if (split.size() != stages - 1) {
                throw new IllegalArgumentException("model " + id + ": pipeline-split " + split + " must name the first"
                        + " layer of each stage after the first: " + (stages - 1) + " values for " + stages
                        + " stages");
            }
            LayerSplit.checkIncreasing(id, split);
        }
        if (micro < 0) {
            throw new IllegalArgumentException("model " + id + ": pipeline-micro-batches must be >= 0, got " + micro);
        }
        if (!wire.equals("F32") && !wire.equals("F16")) {
            throw new IllegalArgumentException(
                    "model " + id + ": pipeline-wire must be F32 or F16, got '" + wire + "'");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("model " + id + ": pipeline-step-timeout must be positive");
        }
        if (stages > 1) {
            if (model.isExternal() || model.simulated()) {
                throw new IllegalArgumentException("model " + id + ": pipeline-stages needs a GGUF model on Kvasir's"
                        + " own engine (not an external or simulated one)");
            }
            if (model.hasPrefillPool()) {
                // A prefill replica exports whole-model KV; a stage holds only its own layers'.
                throw new IllegalArgumentException(
                        "model " + id + ": pipeline-stages and a prefill pool cannot be combined");
            }
        }
        return new PipelineSettings(
                stages, split, micro, wire.equals("F16"), timeout, wait.isNegative() ? Duration.ZERO : wait);
    }
}
