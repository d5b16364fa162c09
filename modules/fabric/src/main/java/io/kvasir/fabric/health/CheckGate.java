package io.kvasir.fabric.health;

/**
 * Hysteresis for one check, so that a replica does not flap in and out of rotation: a check starts
 * to count as failing after {@code failSamples} failing samples in a row, and stops only after it
 * has passed without a break for {@code recoverAfterNanos}. A sample that fails while it recovers
 * starts the recovery over. Time comes from the caller (a fake clock in tests).
 */
final class CheckGate {

    private final int failSamples;
    private final long recoverAfterNanos;
    private int failuresInRow;
    private boolean failing;
    private boolean recovering;
    private long passingSince;

    CheckGate(int failSamples, long recoverAfterNanos) {
        if (failSamples < 1) {
            throw new IllegalArgumentException("kvasir.health.fail-samples must be at least 1, got " + failSamples);
        }
        this.failSamples = failSamples;
        this.recoverAfterNanos = recoverAfterNanos;
    }

    /**
     * One sample of the check; {@code immediate}: the raw failure counts at once (a check that has
     * its own time threshold, such as a stuck engine). Returns whether the check counts as failing.
     */
    boolean sample(boolean rawFailing, boolean immediate, long nowNanos) {
        if (rawFailing) {
            failuresInRow++;
            recovering = false;
            if (immediate || failuresInRow >= failSamples) {
                failing = true;
            }
        } else {
            failuresInRow = 0;
            if (failing) {
                if (!recovering) {
                    recovering = true;
                    passingSince = nowNanos;
                }
                if (nowNanos - passingSince >= recoverAfterNanos) {
                    failing = false;
                    recovering = false;
                }
            }
        }
        return failing;
    }

    boolean failing() {
        return failing;
    }
}
