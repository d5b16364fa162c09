package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code bench engine --json} says what its figures are of (model, weight types, threads, repeats),
 * so lines from several runs make one table.
 */
class BenchEngineJsonTest {

    @Test
    void theJsonNamesTheModelItsWeightTypeAndTheContextDepth(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ByteArrayOutputStream capturedErr = new ByteArrayOutputStream();
        PrintStream out = System.out;
        PrintStream err = System.err;
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(capturedErr, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new BenchEngineCommand())
                    .execute(
                            "--model",
                            model.toString(),
                            "--prompt-tokens",
                            "8",
                            "--gen-tokens",
                            "4",
                            "--batch",
                            "1,2",
                            "--repeats",
                            "1",
                            "--settle-max-ms",
                            "1500",
                            "--json");
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertThat(exit).isZero();
        // The JSON is the line that starts with '{' (the model loader may print before it).
        String line = captured.toString(StandardCharsets.UTF_8)
                .lines()
                .filter(l -> l.startsWith("{"))
                .reduce((a, b) -> b)
                .orElseThrow();
        JsonNode json = new ObjectMapper().readTree(line);
        assertThat(json.path("model").asText()).isEqualTo("tiny.gguf");
        assertThat(json.path("model_type").asText()).isEqualTo("F32");
        assertThat(json.path("file_type").asText()).isEqualTo("F32");
        assertThat(json.path("weight_bytes_by_type").path("F32").asLong()).isPositive();
        assertThat(json.path("context_depth").asInt()).isEqualTo(8);
        assertThat(json.path("decode")).hasSize(2);
        // The wait for the compiler is reported, and bounded by the option.
        assertThat(json.path("jit_settle_ms").asLong()).isBetween(1L, 2_500L);
        assertThat(json.path("prefill_tokens_per_second").asDouble()).isPositive();
        // The threads the run used (no --threads: one per core), and what each median is of.
        assertThat(json.path("threads").asInt()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(json.path("repeats").asInt()).isEqualTo(1);
        // Stderr is not a terminal here: no self-overwriting progress line.
        assertThat(capturedErr.toString(StandardCharsets.UTF_8))
                .doesNotContain("\033[")
                .doesNotContain("\r");
    }
}
