package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The real trained stories260K model must reproduce llama.cpp's greedy continuation token for token. */
class Stories260KModelTest {

    @ParameterizedTest(name = "{0} weights, {1} KV")
    @CsvSource({"stories260K, F32", "stories260K-F16, F32", "stories260K, F16", "stories260K-F16, F16"})
    void greedyDecodeMatchesLlamaCpp(String model, KvPrecision kv) throws IOException {
        Path gguf = SharedData.require("models/" + model + ".gguf");
        JsonNode ref = new ObjectMapper()
                .readTree(SharedData.require("models/" + model + ".reference.json")
                        .toFile())
                .get(0);
        int[] prompt = ids(ref.get("prompt_token_ids"));
        int[] expected = ids(ref.get("token_ids"));

        try (LlamaRunner runner =
                LlamaRunner.open(gguf, TestOptions.f32(2, 8, 16).withKvPrecision(kv))) {
            assertThat(runner.config().architecture()).isEqualTo(Architecture.LLAMA);
            assertThat(runner.config().headCountKv()).isLessThan(runner.config().headCount());
            int[] generated = Batches.greedy(runner.model(), prompt, expected.length, Batches.identityTable(8));
            assertThat(generated).containsExactly(expected);
        }
    }

    /** Three copies of the prompt, started on different steps, share every batch and all match llama.cpp. */
    @Test
    void staggeredSequencesInOneBatchEachMatchLlamaCpp() throws IOException {
        Path gguf = SharedData.require("models/stories260K.gguf");
        JsonNode ref = new ObjectMapper()
                .readTree(
                        SharedData.require("models/stories260K.reference.json").toFile())
                .get(0);
        int[] prompt = ids(ref.get("prompt_token_ids"));
        int[] expected = ids(ref.get("token_ids"));
        int[] startStep = {0, 3, 7};
        int[][] tables = {{9, 0, 14, 3, 20}, {1, 17, 5, 11, 8}, {21, 6, 2, 13, 19}};
        List<List<Integer>> out = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());

        try (LlamaRunner runner = LlamaRunner.open(gguf, TestOptions.f32(2, 24, 16))) {
            for (int step = 0; out.stream().anyMatch(o -> o.size() < expected.length); step++) {
                List<int[]> rows = new ArrayList<>(); // {token, position, seq}
                List<Integer> sample = new ArrayList<>();
                for (int s = 0; s < 3; s++) {
                    List<Integer> o = out.get(s);
                    if (step < startStep[s] || o.size() >= expected.length) {
                        continue;
                    }
                    if (step == startStep[s]) {
                        for (int p = 0; p < prompt.length; p++) {
                            rows.add(new int[] {prompt[p], p, s});
                        }
                    } else {
                        rows.add(new int[] {o.getLast(), prompt.length + o.size() - 1, s});
                    }
                    sample.add(rows.size() - 1);
                }
                ForwardBatch batch = new ForwardBatch(
                        rows.stream().mapToInt(r -> r[0]).toArray(),
                        rows.stream().mapToInt(r -> r[1]).toArray(),
                        rows.stream().mapToInt(r -> r[2]).toArray(),
                        tables,
                        sample.stream().mapToInt(Integer::intValue).toArray());
                float[][] logits = runner.forward(batch);
                for (int i = 0; i < logits.length; i++) {
                    out.get(batch.seqIndex()[batch.sampleRows()[i]]).add(Batches.argmax(logits[i]));
                }
            }
        }
        for (List<Integer> o : out) {
            assertThat(o.stream().mapToInt(Integer::intValue).toArray()).containsExactly(expected);
        }
    }

    private static int[] ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false)
                .mapToInt(JsonNode::asInt)
                .toArray();
    }
}
