package io.kvasir.engine.sim;

import java.util.concurrent.locks.LockSupport;

/**
 * Where a simulated step's time goes: onto a virtual clock only, or also into real time by parking
 * the engine thread. Parking overshoots (the OS wakes a thread late); the overshoot is taken off the
 * next step's wait, at most one step's worth, so a long run keeps to the modelled rate.
 */
final class StepClock {

    private final boolean virtual;
    private double elapsedSeconds;
    private double lastStepSeconds;
    private long steps;
    private long overshootNanos;

    StepClock(boolean virtual) {
        this.virtual = virtual;
    }

    void spend(double seconds) {
        elapsedSeconds += seconds;
        lastStepSeconds = seconds;
        steps++;
        if (!virtual) {
            sleep(Math.round(seconds * 1e9));
        }
    }

    /**
     * Parks for {@code nanos} less the last overshoot. An interrupt ends the wait early and stays
     * set for the caller to see: the step's tokens are still produced.
     */
    private void sleep(long nanos) {
        long wait = nanos - overshootNanos;
        if (wait <= 0) {
            overshootNanos = -wait;
            return;
        }
        long deadline = System.nanoTime() + wait;
        long now = System.nanoTime();
        while (now < deadline && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(deadline - now);
            now = System.nanoTime();
        }
        overshootNanos = Math.min(Math.max(0, now - deadline), nanos);
    }

    double elapsedSeconds() {
        return elapsedSeconds;
    }

    double lastStepSeconds() {
        return lastStepSeconds;
    }

    long steps() {
        return steps;
    }
}
