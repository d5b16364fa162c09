package io.kvasir.server.loadgen;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as people type them on a command line: {@code 30m}, {@code 10s}, {@code 1h30m}, {@code 500ms}. */
public final class Durations {

    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)");

    private Durations() {}

    /** Parses a sequence of number-unit parts, a bare number of seconds, or ISO-8601 ({@code PT30M}). */
    public static Duration parse(String text) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (s.startsWith("pt")) {
            try {
                return Duration.parse(s.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException e) {
                throw bad(text);
            }
        }
        if (s.matches("\\d+(\\.\\d+)?")) {
            return ofSeconds(Double.parseDouble(s));
        }
        Matcher m = PART.matcher(s);
        double seconds = 0;
        int at = 0;
        while (m.find() && m.start() == at) {
            double v = Double.parseDouble(m.group(1));
            seconds += switch (m.group(2)) {
                case "ms" -> v / 1000;
                case "s" -> v;
                case "m" -> v * 60;
                default -> v * 3600;
            };
            at = m.end();
        }
        if (at == 0 || at != s.length()) {
            throw bad(text);
        }
        return ofSeconds(seconds);
    }

    /** {@code 1h30m5s}-style text, whole seconds, for reports; under a second in milliseconds. */
    public static String format(Duration d) {
        if (d.toMillis() < 1000 && !d.isZero()) {
            return d.toMillis() + "ms";
        }
        long s = Math.round(d.toMillis() / 1000.0);
        StringBuilder b = new StringBuilder();
        if (s >= 3600) {
            b.append(s / 3600).append('h');
        }
        if (s % 3600 >= 60) {
            b.append(s % 3600 / 60).append('m');
        }
        if (s % 60 != 0 || b.isEmpty()) {
            b.append(s % 60).append('s');
        }
        return b.toString();
    }

    private static Duration ofSeconds(double seconds) {
        return Duration.ofNanos(Math.round(seconds * 1e9));
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException(
                "cannot read '" + text + "' as a duration; write e.g. 30m, 10s, 1h30m, 500ms");
    }
}
