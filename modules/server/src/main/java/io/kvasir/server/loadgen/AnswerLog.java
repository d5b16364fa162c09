package io.kvasir.server.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The answers of a run, by session and turn, so that a second run of the same seed can be checked
 * against them. bench serve asks for greedy, fixed-length answers and its prompts depend only on
 * the seed, the session and the turn, so two runs must give the same text: a stream that lost or
 * repeated a token when its turn moved to another replica (a node drained or killed mid-run), or a
 * replica that computes differently, shows as a differing answer.
 */
final class AnswerLog {

    /** Where two answers to the same request first part, with a little of each. */
    record Difference(String key, int at, String expected, String actual) {}

    /** How a run's answers compare with a reference run's. */
    record Comparison(int compared, int missingFromReference, List<Difference> differences) {
        boolean identical() {
            return differences.isEmpty();
        }

        String summary() {
            StringBuilder s = new StringBuilder("answers compared with the reference: " + compared + ", identical: "
                    + (compared - differences.size()) + ", differing: " + differences.size());
            if (missingFromReference > 0) {
                s.append(", not in the reference: ").append(missingFromReference);
            }
            for (Difference d : differences.subList(0, Math.min(5, differences.size()))) {
                s.append(System.lineSeparator())
                        .append("  ")
                        .append(d.key())
                        .append(" differs at char ")
                        .append(d.at())
                        .append(": expected '")
                        .append(d.expected())
                        .append("', got '")
                        .append(d.actual())
                        .append('\'');
            }
            return s.toString();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CONTEXT = 24;

    private final Map<String, String> answers = new ConcurrentSkipListMap<>();

    static String key(long session, int turn) {
        return "session " + session + " turn " + turn;
    }

    void record(long session, int turn, String text) {
        answers.put(key(session, turn), text);
    }

    int size() {
        return answers.size();
    }

    /** One JSON object a line: {@code {"key": ..., "text": ...}}, in key order. */
    void write(Path file) {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Map.Entry<String, String> e : answers.entrySet()) {
                out.write(JSON.createObjectNode()
                        .put("key", e.getKey())
                        .put("text", e.getValue())
                        .toString());
                out.newLine();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write answers to " + file + ": " + e.getMessage(), e);
        }
    }

    static Map<String, String> read(Path file) {
        Map<String, String> reference = new TreeMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read answers from " + file + ": " + e.getMessage(), e);
        }
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(lines.get(i));
                if (!n.path("key").isTextual() || !n.path("text").isTextual()) {
                    throw new IllegalArgumentException("no key and text");
                }
                reference.put(n.get("key").asText(), n.get("text").asText());
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        file + " line " + (i + 1) + " is not an answer written by --answers");
            }
        }
        return reference;
    }

    /** This run's answers against {@code reference}: only requests both runs completed are compared. */
    Comparison compareWith(Map<String, String> reference) {
        int compared = 0;
        int missing = 0;
        List<Difference> differences = new ArrayList<>();
        for (Map.Entry<String, String> e : answers.entrySet()) {
            String expected = reference.get(e.getKey());
            if (expected == null) {
                missing++;
                continue;
            }
            compared++;
            String actual = e.getValue();
            if (!expected.equals(actual)) {
                int at = 0;
                while (at < expected.length() && at < actual.length() && expected.charAt(at) == actual.charAt(at)) {
                    at++;
                }
                differences.add(new Difference(e.getKey(), at, around(expected, at), around(actual, at)));
            }
        }
        return new Comparison(compared, missing, differences);
    }

    private static String around(String s, int at) {
        return s.substring(Math.max(0, at - 4), Math.min(s.length(), at + CONTEXT));
    }
}
