package io.kvasir.server.loadgen;

import java.util.SplittableRandom;

/**
 * Which {@link Workload} each session asks for. Written on the command line as {@code interactive},
 * {@code batch} or {@code mix:F}, F being the fraction of sessions that are interactive. Every turn
 * of a session keeps its class, as a real client's conversation would.
 */
public record WorkloadMix(double interactiveFraction) {

    public static final WorkloadMix INTERACTIVE = new WorkloadMix(1);
    public static final WorkloadMix BATCH = new WorkloadMix(0);

    // Mixed into the seed so that the class draw does not follow the session's size draws.
    private static final long SALT = 0x3a1f_c0de_b00cL;

    public WorkloadMix {
        if (!(interactiveFraction >= 0 && interactiveFraction <= 1)) {
            throw new IllegalArgumentException("interactive fraction must be in [0, 1], got " + interactiveFraction);
        }
    }

    public static WorkloadMix parse(String text) {
        String s = text == null ? "" : text.strip();
        if (s.equalsIgnoreCase("interactive")) {
            return INTERACTIVE;
        }
        if (s.equalsIgnoreCase("batch")) {
            return BATCH;
        }
        if (s.startsWith("mix:")) {
            try {
                return new WorkloadMix(
                        Double.parseDouble(s.substring("mix:".length()).strip()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad --workload '" + text + "': " + e.getMessage(), e);
            }
        }
        throw new IllegalArgumentException("--workload must be interactive, batch or mix:F (F = interactive "
                + "fraction, e.g. mix:0.8), got '" + text + "'");
    }

    /** True unless every session gets the same class. */
    public boolean mixed() {
        return interactiveFraction > 0 && interactiveFraction < 1;
    }

    /**
     * The class of one session. Drawn from its own stream, seeded by the run's seed and the session
     * number, so a mixed run sends the same prompts and answer sizes as a pure run with the same seed,
     * and a rerun puts the same sessions in the same class.
     */
    public Workload choose(long seed, long session) {
        if (!mixed()) {
            return interactiveFraction == 1 ? Workload.INTERACTIVE : Workload.BATCH;
        }
        double u = new SplittableRandom((seed ^ SALT) * 0x9E37_79B9_7F4A_7C15L + session).nextDouble();
        return u < interactiveFraction ? Workload.INTERACTIVE : Workload.BATCH;
    }

    /** The command-line spelling, for reports. */
    public String describe() {
        return mixed()
                ? "mix:" + LoadSpec.trim(interactiveFraction)
                : choose(0, 0).label();
    }
}
