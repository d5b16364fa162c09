package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.SharedData;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kvasir generate --json} on a real model reproduces llama.cpp's greedy output, prompt ids included. */
class GenerateCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode run(String... args) throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.commandLine().execute(args);
        } finally {
            System.setOut(saved);
        }
        assertThat(code).isZero();
        String[] lines = buffer.toString(StandardCharsets.UTF_8).strip().split("\n");
        return JSON.readTree(lines[lines.length - 1]);
    }

    @Test
    void storiesGreedyMatchesTheReference() throws Exception {
        // Both KV precisions: the default F16 and F32 give llama.cpp's tokens on this model.
        for (String[] c : new String[][] {{"stories260K", "F16"}, {"stories260K-F16", "F16"}, {"stories260K", "F32"}}) {
            String name = c[0];
            Path model = SharedData.require("models/" + name + ".gguf");
            JsonNode ref = JSON.readTree(SharedData.require("models/" + name + ".reference.json")
                            .toFile())
                    .get(0);
            JsonNode out = run(
                    "generate",
                    "--model",
                    model.toString(),
                    "--prompt",
                    ref.get("prompt").asText(),
                    "--max-tokens",
                    String.valueOf(ref.get("token_ids").size()),
                    "--temperature",
                    "0",
                    "--threads",
                    "1",
                    "--kv-precision",
                    c[1],
                    "--json");

            assertThat(out.get("prompt_token_ids")).isEqualTo(ref.get("prompt_token_ids"));
            assertThat(out.get("token_ids")).isEqualTo(ref.get("token_ids"));
            assertThat(out.get("text").asText()).isEqualTo(ref.get("text").asText());
            assertThat(out.get("decode_tokens_per_second").asDouble()).isPositive();
        }
    }

    /** A seeded, sampled generation of five tokens from {@code model}, plus {@code extra} options. */
    private static JsonNode sampled(Path model, String... extra) throws Exception {
        String[] base = {
            "generate",
            "--model",
            model.toString(),
            "--prompt",
            "Hello there",
            "--max-tokens",
            "5",
            "--seed",
            "7",
            "--temperature",
            "0.8",
            "--threads",
            "1"
        };
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return run(args);
    }

    @Test
    void makeModelThenGenerateOnTheSyntheticModel(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m.gguf");
        PrintStream saved = System.out;
        System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.commandLine()
                            .execute(
                                    "make-model",
                                    "--out",
                                    model.toString(),
                                    "--preset",
                                    "tiny",
                                    "--type",
                                    "Q4_0",
                                    "--layers",
                                    "2"))
                    .isZero();
        } finally {
            System.setOut(saved);
        }
        JsonNode out = sampled(model, "--json");
        JsonNode again = sampled(model, "--json");
        // The throwaway warm-up generation leaves nothing behind that the real one could see.
        JsonNode cold = sampled(model, "--no-warm-up", "--json");

        assertThat(out.get("token_ids").size()).isBetween(1, 5);
        assertThat(again.get("token_ids")).isEqualTo(out.get("token_ids"));
        assertThat(cold.get("token_ids")).isEqualTo(out.get("token_ids"));
        assertThat(out.get("warm_up_ms").asLong()).isPositive();
        assertThat(cold.get("warm_up_ms").asLong()).isZero();
        assertThat(out.get("prompt_token_ids").get(0).asInt()).isEqualTo(1); // BOS of the built-in vocabulary
    }
}
