package io.kvasir.http.fuzz;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Request bodies for {@link FuzzCases}: OpenAI chat and completion bodies whose fields are
 * plausible most of the time and otherwise anything (wrong types, huge or overlong numbers, deep
 * nesting, odd strings), and random JSON values. Also the small random helpers both share.
 */
final class FuzzJson {

    static final String[] WEIRD_STRINGS = {
        "",
        " ",
        "\u0000",
        "\\",
        "\"",
        "\u00e9\u4e2d\ud83d\ude00",
        "\ud800",
        "a".repeat(3000),
        "null",
        "{}",
        "[]",
        "\r\nX-Injected: 1",
        "<script>",
        "%00",
        "../../etc"
    };
    private final Random r;

    FuzzJson(Random r) {
        this.r = r;
    }

    String chatBody() {
        StringBuilder b = new StringBuilder("{");
        field(b, "model", r.nextInt(10) == 0 ? pick("\"other/model\"", "\"nope\"", "1", "null") : "\"fake-model\"");
        field(b, "messages", r.nextInt(10) == 0 ? value(0) : messages());
        optionalFields(b);
        return b.append('}').toString();
    }

    String completionBody() {
        StringBuilder b = new StringBuilder("{");
        field(b, "model", r.nextInt(10) == 0 ? value(0) : "\"fake-model\"");
        field(
                b,
                "prompt",
                r.nextInt(8) == 0
                        ? value(0)
                        : pick("\"Once\"", "[\"Once\"]", "[\"a\", \"b\"]", "[1, 2]", quoted(pick(WEIRD_STRINGS))));
        optionalFields(b);
        if (r.nextInt(6) == 0) {
            field(b, pick("echo", "suffix", "best_of", "logprobs"), value(0));
        }
        return b.append('}').toString();
    }

    private String messages() {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < 1 + r.nextInt(3); i++) {
            String role =
                    r.nextInt(10) == 0 ? value(0) : quoted(pick("user", "system", "assistant", "developer", "tool"));
            String content = switch (r.nextInt(8)) {
                case 0 -> value(0);
                case 1 -> "[{\"type\": \"text\", \"text\": " + quoted(pick(WEIRD_STRINGS)) + "}]";
                case 2 -> "[{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]";
                default -> quoted(randomText(r.nextInt(40)));
            };
            parts.add("{\"role\": " + role + ", \"content\": " + content + "}");
        }
        return "[" + String.join(", ", parts) + "]";
    }

    private void optionalFields(StringBuilder b) {
        String[] names = {
            "stream",
            "stream_options",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "top_p",
            "top_k",
            "min_p",
            "seed",
            "n",
            "stop",
            "logprobs",
            "top_logprobs",
            "presence_penalty",
            "frequency_penalty",
            "repetition_penalty",
            "logit_bias",
            "user",
            "metadata",
            "tools",
            "response_format",
            "unknown_field"
        };
        for (int i = r.nextInt(5); i > 0; i--) {
            String name = pick(names);
            field(b, name, plausible(name));
        }
    }

    private String plausible(String name) {
        if (r.nextInt(4) == 0) {
            return value(0);
        }
        return switch (name) {
            case "stream", "logprobs" -> pick("true", "false");
            case "stream_options" -> pick("{\"include_usage\": true}", "{\"include_usage\": 1}", "{}");
            case "max_tokens", "max_completion_tokens", "top_k", "n", "top_logprobs", "seed" -> number();
            case "stop" -> pick("\"\\n\"", "[\"a\", \"b\"]", "[\"\"]", "[1]");
            case "logit_bias" ->
                pick(
                        "{\"5\": -100}",
                        "{\"50256\": 100, \"0\": 2.5}",
                        "{\"x\": 1}",
                        "{\"1\": 101}",
                        "{\"" + number() + "\": " + number() + "}",
                        "[]");
            case "user" ->
                quoted(pick(FuzzCases.USER_UNAVAILABLE, FuzzCases.USER_OVERLOADED, "alice", pick(WEIRD_STRINGS)));
            case "metadata" -> "{\"session_id\": " + pick(quoted(pick(WEIRD_STRINGS)), "1", "null", "{}") + "}";
            case "tools" -> pick("[]", "[{\"type\": \"function\"}]");
            case "response_format" -> pick("{\"type\": \"text\"}", "{\"type\": \"json_object\"}", "{}");
            default -> number();
        };
    }

    private String number() {
        return switch (r.nextInt(12)) {
            case 0 -> "9".repeat(1 + r.nextInt(1_500));
            case 1 -> "1e" + r.nextInt(400);
            case 2 -> "-" + r.nextInt(Integer.MAX_VALUE);
            case 3 -> Long.toString(r.nextLong());
            case 4 -> Double.toString(r.nextGaussian() * 1e6);
            case 5 -> "0." + "1".repeat(1 + r.nextInt(300));
            case 6 -> pick("0", "-0", "1.0", "2147483648", "-2147483649", "9223372036854775808", "1E-400");
            default -> Integer.toString(r.nextInt(4_000) - 100);
        };
    }

    /** A random JSON value, nesting further with a falling chance; sometimes beyond the depth limit. */
    String value(int depth) {
        int kind = r.nextInt(depth > 6 ? 6 : 9);
        return switch (kind) {
            case 0 -> "null";
            case 1 -> pick("true", "false");
            case 2, 3 -> number();
            case 4, 5 -> quoted(r.nextBoolean() ? randomText(r.nextInt(30)) : pick(WEIRD_STRINGS));
            case 6 -> {
                List<String> items = new ArrayList<>();
                for (int i = r.nextInt(4); i > 0; i--) {
                    items.add(value(depth + 1));
                }
                yield "[" + String.join(",", items) + "]";
            }
            case 7 -> {
                StringBuilder o = new StringBuilder("{");
                for (int i = r.nextInt(4); i > 0; i--) {
                    field(o, randomText(6), value(depth + 1));
                }
                yield o.append('}').toString();
            }
            default -> deep(r.nextInt(150));
        };
    }

    String deep(int levels) {
        boolean arrays = r.nextBoolean();
        return arrays ? "[".repeat(levels) + "]".repeat(levels) : "{\"a\":".repeat(levels) + "1" + "}".repeat(levels);
    }

    private void field(StringBuilder object, String name, String value) {
        if (object.length() > 1) {
            object.append(", ");
        }
        object.append(quoted(name)).append(": ").append(value);
    }

    String randomText(int length) {
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            b.append((char) (r.nextInt(10) == 0 ? 0x80 + r.nextInt(0x2000) : 0x20 + r.nextInt(0x5f)));
        }
        return b.toString();
    }

    private static String quoted(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    @SafeVarargs
    final <T> T pick(T... options) {
        return options[r.nextInt(options.length)];
    }
}
