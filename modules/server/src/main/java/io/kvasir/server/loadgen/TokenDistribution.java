package io.kvasir.server.loadgen;

import java.util.random.RandomGenerator;

/**
 * How many tokens a prompt or an answer should have. Written on the command line as {@code 128}
 * (fixed), {@code uniform:64-256} (inclusive bounds) or {@code normal:128,32} (mean, standard
 * deviation; samples are rounded and clamped to at least one token).
 */
public sealed interface TokenDistribution {

    int sample(RandomGenerator random);

    /** The command-line spelling, for reports. */
    String describe();

    record Fixed(int tokens) implements TokenDistribution {
        public Fixed {
            requirePositive(tokens, "token count");
        }

        @Override
        public int sample(RandomGenerator random) {
            return tokens;
        }

        @Override
        public String describe() {
            return Integer.toString(tokens);
        }
    }

    record Uniform(int min, int max) implements TokenDistribution {
        public Uniform {
            requirePositive(min, "uniform minimum");
            if (max < min) {
                throw new IllegalArgumentException("uniform maximum " + max + " is below minimum " + min);
            }
        }

        @Override
        public int sample(RandomGenerator random) {
            return min + random.nextInt(max - min + 1);
        }

        @Override
        public String describe() {
            return "uniform:" + min + "-" + max;
        }
    }

    record Normal(double mean, double stddev) implements TokenDistribution {
        public Normal {
            if (!(mean >= 1)) {
                throw new IllegalArgumentException("normal mean must be at least 1, got " + mean);
            }
            if (!(stddev >= 0) || Double.isInfinite(stddev)) {
                throw new IllegalArgumentException("normal standard deviation must be >= 0, got " + stddev);
            }
        }

        @Override
        public int sample(RandomGenerator random) {
            long v = Math.round(mean + stddev * random.nextGaussian());
            return (int) Math.max(1, Math.min(v, Integer.MAX_VALUE));
        }

        @Override
        public String describe() {
            return "normal:" + trim(mean) + "," + trim(stddev);
        }
    }

    static TokenDistribution parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty token distribution");
        }
        String s = text.strip();
        try {
            if (s.startsWith("uniform:")) {
                String[] bounds = s.substring("uniform:".length()).split("-", -1);
                if (bounds.length != 2) {
                    throw new IllegalArgumentException("expected uniform:MIN-MAX");
                }
                return new Uniform(Integer.parseInt(bounds[0].strip()), Integer.parseInt(bounds[1].strip()));
            }
            if (s.startsWith("normal:")) {
                String[] parts = s.substring("normal:".length()).split(",", -1);
                if (parts.length != 2) {
                    throw new IllegalArgumentException("expected normal:MEAN,STDDEV");
                }
                return new Normal(Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()));
            }
            return new Fixed(Integer.parseInt(s));
        } catch (IllegalArgumentException e) {
            // NumberFormatException is an IllegalArgumentException too: name the whole input either way.
            throw new IllegalArgumentException(
                    "bad token distribution '" + text + "' (use 128, uniform:64-256 or normal:128,32): "
                            + e.getMessage(),
                    e);
        }
    }

    private static void requirePositive(int v, String what) {
        if (v < 1) {
            throw new IllegalArgumentException(what + " must be at least 1, got " + v);
        }
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
