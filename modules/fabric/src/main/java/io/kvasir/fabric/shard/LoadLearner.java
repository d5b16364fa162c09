package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineStats;
import java.util.function.LongSupplier;

/**
 * What a replica learns from its engine's counters, read once a publish interval: how many
 * sequences its batch may run ({@link BatchCapacity}, from the decode steps between two readings)
 * and how fast it prefills. Both are differences of cumulative counters, so a reading only means
 * something against the one before. Used from the replica's actor only.
 *
 * <p>The prefill rate is prompt tokens over the time their steps spent on them: a step that also
 * decoded is charged its time less a decode-only step's, and readings count by their tokens, not
 * one each. Measured without both (one reading, one vote, whole step time): a follow-up turn whose
 * prompt was cached but for one token made a 13 ms step look like 78 prompt tokens a second, and a
 * few such turns took the published rate from 2,400 down to 110 tokens a second, so the admission
 * forecast refused five of eight requests arriving together on an idle replica.
 *
 * <p>A rate learnt under overload is the rate of a replica whose cores also took in hundreds of
 * refused requests; once no prompt has come for a while it says little about the next one. So
 * without prompts the published rate returns to the best this replica has shown, as {@link Fading}
 * says. Measured without it: after an overload (240 requests at once, three times) the rate stayed
 * at 823 tokens a second, a third of the idle replica's, and 20 s later the admission forecast
 * refused three and four of eight requests arriving together on the idle replica.
 */
final class LoadLearner {

    /** The figures learnt up to a reading. */
    record Learnt(int capacity, double prefillRate) {}

    /**
     * Prompt tokens after which an earlier reading counts half: a few long prompts' worth, so the
     * JIT-cold first prompts after a load are forgotten within seconds of real traffic.
     */
    static final double HALF_LIFE_TOKENS = 1024;

    /**
     * Prompt tokens (decayed) the rate must rest on before it may count as the best: a reading of
     * one short prompt is too noisy to be anyone's best.
     */
    private static final double BEST_AFTER_TOKENS = 512;

    private final BatchCapacity capacity;
    /** The reading before, to measure the steps between two readings. */
    private EngineStats last;
    /** Prompt tokens (and their prefill time) counted so far, older ones decayed by newer tokens. */
    private double prefillTokens;

    private double prefillNanos;
    /** A decode-only step's time, recently (the lone step timed at load until one is read). */
    private double decodeStepNanos;
    /** The highest learnt rate that rested on enough tokens; 0 until then. */
    private double bestRate;
    /** When a prompt was last counted (0: never). */
    private long lastPromptNanos;

    private final LongSupplier nanoTime;

    LoadLearner(BatchCapacity capacity) {
        this(capacity, System::nanoTime);
    }

    LoadLearner(BatchCapacity capacity, LongSupplier nanoTime) {
        this.capacity = capacity;
        this.nanoTime = nanoTime;
    }

    /** A lone sequence's step, timed at load. */
    void loneStep(long nanos) {
        capacity.loneStep(nanos);
        if (decodeStepNanos == 0) {
            decodeStepNanos = nanos;
        }
    }

    /**
     * One prompt timed at load, on the idle engine: the published rate until prompts served say
     * otherwise. It counts as {@code tokens} of evidence, so the first reading of real prompts
     * outweighs it, and never as the best (too few tokens). Ignored once prompts were counted.
     */
    void unloadedPrompt(int tokens, long nanos) {
        if (tokens > 0 && nanos > 0 && prefillTokens == 0) {
            prefillTokens = tokens;
            prefillNanos = nanos;
        }
    }

    /** The last reading (null before the first). */
    EngineStats last() {
        return last;
    }

    /**
     * Learns from a new reading. Only steps that decoded and computed no prompt chunk feed the batch
     * capacity: a prompt chunk's cost does not grow with the batch, and the step budget and
     * length-aware scheduling, not the batch cap, bound it. A replica that counts no prompt returns
     * its published rate towards the best it has shown.
     */
    Learnt read(EngineStats now) {
        EngineStats before = last;
        last = now;
        if (before != null) {
            long decodeSteps = now.decodeSteps() - before.decodeSteps();
            if (decodeSteps > 0) {
                double step = (double) (now.decodeStepNanos() - before.decodeStepNanos()) / decodeSteps;
                decodeStepNanos = decodeStepNanos == 0 ? step : decodeStepNanos + 0.2 * (step - decodeStepNanos);
                double batch = (double) (now.decodeSequences() - before.decodeSequences()) / decodeSteps;
                capacity.sample((int) Math.round(batch), step);
            }
            learnPrefill(now, before);
        }
        return new Learnt(capacity.capacity(), publishedRate());
    }

    private void learnPrefill(EngineStats now, EngineStats before) {
        long tokens = now.promptTokens() - before.promptTokens();
        long nanos = (now.stepNanos() - now.decodeStepNanos()) - (before.stepNanos() - before.decodeStepNanos());
        if (tokens <= 0 || nanos <= 0) {
            return; // nothing to learn from: the published rate recovers instead
        }
        long mixedSteps = Math.max(0, (now.steps() - now.decodeSteps()) - (before.steps() - before.decodeSteps()));
        // What the steps would have taken without their prompt chunks, never more than 3/4 of them:
        // a prompt chunk is never free, and a decode step's mean can be off for this batch.
        double spent = Math.max(0.25 * nanos, nanos - mixedSteps * decodeStepNanos);
        double keep = Math.pow(0.5, tokens / HALF_LIFE_TOKENS);
        prefillTokens = prefillTokens * keep + tokens;
        prefillNanos = prefillNanos * keep + spent;
        lastPromptNanos = nanoTime.getAsLong();
        if (prefillTokens >= BEST_AFTER_TOKENS) {
            bestRate = Math.max(bestRate, learntRate());
        }
    }

    private double learntRate() {
        return prefillNanos <= 0 ? 0 : prefillTokens / (prefillNanos / 1e9);
    }

    /** The learnt rate, moved towards the best for the time no prompt has come (never below the learnt). */
    private double publishedRate() {
        double learnt = learntRate();
        if (bestRate <= learnt || lastPromptNanos == 0) {
            return learnt;
        }
        double kept = Fading.kept(nanoTime.getAsLong() - lastPromptNanos);
        return kept == 1 ? learnt : bestRate - (bestRate - learnt) * kept;
    }
}
