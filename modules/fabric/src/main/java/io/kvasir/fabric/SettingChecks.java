package io.kvasir.fabric;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Reads settings under {@code kvasir} that only make sense in a range, failing the node's start
 * with the full key and the value when one is outside it: a negative timeout or count would
 * otherwise surface later as a refusal of every request, or a timer that fires at once.
 */
public final class SettingChecks {

    private final Config kvasir;

    /** @param kvasir the {@code kvasir} block */
    public SettingChecks(Config kvasir) {
        this.kvasir = kvasir;
    }

    public Duration positive(String key) {
        Duration d = kvasir.getDuration(key);
        if (d.isNegative() || d.isZero()) {
            throw invalid(
                    key, "must be positive", String.valueOf(kvasir.getValue(key).unwrapped()));
        }
        return d;
    }

    /** Zero allowed: it turns the thing off, or means "at once". */
    public Duration notNegative(String key) {
        Duration d = kvasir.getDuration(key);
        if (d.isNegative()) {
            throw invalid(
                    key,
                    "must not be negative",
                    String.valueOf(kvasir.getValue(key).unwrapped()));
        }
        return d;
    }

    public int notNegativeInt(String key) {
        int n = kvasir.getInt(key);
        if (n < 0) {
            throw invalid(key, "must not be negative", Integer.toString(n));
        }
        return n;
    }

    public int positiveBytes(String key) {
        long bytes = kvasir.getBytes(key);
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw invalid(
                    key,
                    "must be positive and below 2 GiB",
                    String.valueOf(kvasir.getValue(key).unwrapped()));
        }
        return (int) bytes;
    }

    public double positiveDouble(String key) {
        double x = kvasir.getDouble(key);
        if (!(x > 0)) {
            throw invalid(
                    key, "must be positive", String.valueOf(kvasir.getValue(key).unwrapped()));
        }
        return x;
    }

    private static IllegalArgumentException invalid(String key, String rule, String value) {
        return new IllegalArgumentException("kvasir." + key + " " + rule + ", got " + value);
    }
}
