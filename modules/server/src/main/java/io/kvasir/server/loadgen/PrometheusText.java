package io.kvasir.server.loadgen;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.OptionalDouble;

/**
 * Reads values out of the Prometheus text exposition format ({@code name{labels} value [time]}
 * lines, {@code #} comments), as a server's {@code /metrics} serves it. Only what a sampler needs:
 * the sum of one metric's series, optionally those whose labels contain a given pair.
 */
public final class PrometheusText {

    private PrometheusText() {}

    /** The page at {@code uri} when it answers 200 within five seconds, else null (busy, restarted, unreachable). */
    public static String scrape(HttpClient client, URI uri) {
        return scrape(client, uri, null);
    }

    /** {@link #scrape(HttpClient, URI)} with {@code Authorization: Bearer bearer} when it is not null. */
    public static String scrape(HttpClient client, URI uri, String bearer) {
        try {
            HttpRequest.Builder request =
                    HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET();
            if (bearer != null && !bearer.isBlank()) {
                request.header("Authorization", "Bearer " + bearer);
            }
            HttpResponse<String> r = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException | IllegalArgumentException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Sum of every series of {@code metric} whose label set contains {@code label} (e.g.
     * {@code area="heap"}; null for all series); empty when no such series has a finite value.
     */
    public static OptionalDouble sum(String text, String metric, String label) {
        double sum = 0;
        boolean found = false;
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.charAt(0) == '#' || !line.startsWith(metric)) {
                continue;
            }
            int after = metric.length();
            if (after == line.length()) {
                continue;
            }
            char c = line.charAt(after);
            String labels = "";
            String rest;
            if (c == '{') {
                int close = line.indexOf('}', after);
                if (close < 0) {
                    continue;
                }
                labels = line.substring(after + 1, close);
                rest = line.substring(close + 1);
            } else if (c == ' ' || c == '\t') {
                rest = line.substring(after);
            } else {
                continue; // another metric whose name starts with this one
            }
            if (label != null && !hasLabel(labels, label)) {
                continue;
            }
            double v = value(rest);
            if (Double.isFinite(v)) {
                sum += v;
                found = true;
            }
        }
        return found ? OptionalDouble.of(sum) : OptionalDouble.empty();
    }

    /** Whether {@code name="value"} is one of the comma-separated pairs (not merely a substring of one). */
    private static boolean hasLabel(String labels, String pair) {
        int i = labels.indexOf(pair);
        while (i >= 0) {
            boolean startOk = i == 0 || labels.charAt(i - 1) == ',';
            int end = i + pair.length();
            boolean endOk = end == labels.length() || labels.charAt(end) == ',';
            if (startOk && endOk) {
                return true;
            }
            i = labels.indexOf(pair, i + 1);
        }
        return false;
    }

    /** The sample value: the first field after the labels; +Inf, -Inf and NaN as Prometheus writes them. */
    private static double value(String rest) {
        String[] fields = rest.strip().split("\\s+");
        if (fields.length == 0 || fields[0].isEmpty()) {
            return Double.NaN;
        }
        return switch (fields[0]) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(fields[0]);
                } catch (NumberFormatException e) {
                    yield Double.NaN;
                }
            }
        };
    }
}
