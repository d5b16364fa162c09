package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.StreamSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The real trained stories260K model must reproduce llama.cpp's greedy continuation token for token. */
class Stories260KModelTest {

    @ParameterizedTest(name = "{0} weights, {1} KV")
    @CsvSource({"stories260K, F32", "stories260K-F16, F32", "stories260K, F16", "stories260K-F16, F16"})
    void greedyDecodeMatchesLlamaCpp(String model, KvPrecision kv) throws IOException {
        Path gguf = SharedData.require("models/" + model + ".gguf");
        JsonNode ref = new ObjectMapper().readTree(SharedData.require("models/" + model + ".reference.json").toFile()).get(0);
        int[] prompt = ids(ref.get("prompt_token_ids"));
        int[] expected = ids(ref.get("token_ids"));

        try (LlamaRunner runner = LlamaRunner.open(gguf, new RunnerOptions(2, kv, 8, 16))) {
            assertThat(runner.config().architecture()).isEqualTo(Architecture.LLAMA);
            assertThat(runner.config().headCountKv()).isLessThan(runner.config().headCount());
            int[] generated = Batches.greedy(runner.model(), prompt, expected.length, Batches.identityTable(8));
            assertThat(generated).containsExactly(expected);
        }
    }

    private static int[] ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).mapToInt(JsonNode::asInt).toArray();
    }
}
