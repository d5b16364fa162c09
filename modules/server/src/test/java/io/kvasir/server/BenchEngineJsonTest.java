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

/** {@code bench engine --json} says what its figures are of, so lines from several runs make one table. */
class BenchEngineJsonTest {

    @Test
    void theJsonNamesTheModelItsWeightTypeAndTheContextDepth(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = System.out;
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
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
                            "--threads",
                            "1",
                            "--settle-max-ms",
                            "1500",
                            "--json");
        } finally {
            System.setOut(out);
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
    }
}
