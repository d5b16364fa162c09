package io.kvasir.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model with random weights left to itself writes noise; under a response format, every sample
 * at temperature 1 must still be JSON valid against the schema, or a prefix of such JSON when
 * max_tokens cut it short.
 */
class StructuredGenerationTest {

    @TempDir
    static Path dir;

    private static LocalModel model;

    @BeforeAll
    static void load() {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(
                new SyntheticModel.Spec(64, 2, 2, 2, 128, 512, 1024, GgmlType.F32, 7, true, null, 1e4f), file);
        model = LocalModel.open(file, EngineOptions.defaults().withThreads(1).withKvBlocks(512));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private record Output(String text, FinishReason finish, List<Integer> tokens) {}

    private static Map<String, Output> run(List<EngineRequest> requests) {
        EngineCore engine = model.engine();
        requests.forEach(engine::addRequest);
        Map<String, StringBuilder> text = new HashMap<>();
        Map<String, List<Integer>> tokens = new HashMap<>();
        Map<String, Output> done = new HashMap<>();
        while (engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                text.computeIfAbsent(e.requestId(), k -> new StringBuilder()).append(e.text());
                if (e.tokenId() >= 0) {
                    tokens.computeIfAbsent(e.requestId(), k -> new ArrayList<>())
                            .add(e.tokenId());
                }
                if (e.finish() != null) {
                    done.put(
                            e.requestId(),
                            new Output(
                                    text.get(e.requestId()).toString(),
                                    e.finish(),
                                    tokens.getOrDefault(e.requestId(), List.of())));
                }
            }
        }
        return done;
    }

    private static EngineRequest request(String id, long seed, int maxTokens, ResponseFormat format) {
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, seed, 0);
        return EngineRequest.of(id, model.textPrompt("Describe a person as JSON."), sampling, maxTokens)
                .withResponseFormat(format, 0);
    }

    @Test
    void everySampleFollowsTheSchema() {
        ResponseFormat format = ResponseFormat.jsonSchema(Schemas.ORDER, true);
        List<EngineRequest> requests = new ArrayList<>();
        for (long seed = 0; seed < 24; seed++) {
            requests.add(request("r" + seed, seed, 400, format));
        }
        Map<String, Output> out = run(requests);
        assertThat(out).hasSize(requests.size());
        for (Output o : out.values()) {
            assertThat(o.finish()).as(o.text()).isEqualTo(FinishReason.STOP);
            Schemas.assertValid(o.text(), Schemas.ORDER);
        }
    }

    @Test
    void everySampleKeepsToNumberBoundsAndStringLengths() {
        ResponseFormat format = ResponseFormat.jsonSchema(Schemas.LIMITS, true);
        List<EngineRequest> requests = new ArrayList<>();
        for (long seed = 0; seed < 12; seed++) {
            requests.add(request("l" + seed, seed, 400, format));
        }
        Map<String, Output> out = run(requests);
        assertThat(out).hasSize(requests.size());
        for (Output o : out.values()) {
            assertThat(o.finish()).as(o.text()).isEqualTo(FinishReason.STOP);
            Schemas.assertValid(o.text(), Schemas.LIMITS);
        }
    }

    @Test
    void samplesCutByMaxTokensAreAPrefixOfValidOutput() {
        ResponseFormat format = ResponseFormat.jsonSchema(Schemas.PERSON, true);
        List<EngineRequest> requests = new ArrayList<>();
        for (long seed = 0; seed < 8; seed++) {
            requests.add(request("p" + seed, seed, 60, format));
        }
        for (Output o : run(requests).values()) {
            if (o.finish() == FinishReason.STOP) {
                Schemas.assertValid(o.text(), Schemas.PERSON);
            } else {
                assertThat(o.finish()).isEqualTo(FinishReason.LENGTH);
                JsonState s = JsonState.start(SchemaCompiler.compile(format))
                        .advance(o.text().getBytes(StandardCharsets.UTF_8));
                assertThat(s).as("a prefix of valid output: %s", o.text()).isNotNull();
            }
        }
    }

    @Test
    void jsonObjectModeGivesObjects() {
        List<EngineRequest> requests = new ArrayList<>();
        for (long seed = 0; seed < 16; seed++) {
            requests.add(request("o" + seed, seed, 300, ResponseFormat.JSON_OBJECT));
        }
        int complete = 0;
        for (Output o : run(requests).values()) {
            if (o.finish() == FinishReason.STOP) {
                Schemas.assertValid(o.text(), null);
                complete++;
            }
        }
        assertThat(complete).isPositive();
    }

    @Test
    void aResumedTurnContinuesTheSameAutomaton() {
        ResponseFormat format = ResponseFormat.jsonSchema(Schemas.ORDER, true);
        Output whole = run(List.of(request("whole", 5, 400, format))).get("whole");
        assertThat(whole.finish()).isEqualTo(FinishReason.STOP);
        int cut = whole.tokens().size() / 2;
        int[] prompt = model.textPrompt("Describe a person as JSON.");
        int[] resumed = new int[prompt.length + cut];
        System.arraycopy(prompt, 0, resumed, 0, prompt.length);
        for (int i = 0; i < cut; i++) {
            resumed[prompt.length + i] = whole.tokens().get(i);
        }
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, 99L, 0);
        Output rest = run(List.of(
                        EngineRequest.of("rest", resumed, sampling, 400).withResponseFormat(format, cut)))
                .get("rest");
        String firstHalf = model.tokenizer()
                .decode(whole.tokens().subList(0, cut).stream()
                        .mapToInt(Integer::intValue)
                        .toArray());
        assertThat(rest.finish()).isEqualTo(FinishReason.STOP);
        Schemas.assertValid(firstHalf + rest.text(), Schemas.ORDER);
    }

    @Test
    void aBadSchemaIsTheCallersError() {
        assertThatThrownBy(() -> model.engine()
                        .addRequest(request(
                                "bad",
                                1,
                                10,
                                ResponseFormat.jsonSchema("{\"type\":\"string\",\"pattern\":\"x\"}", true))))
                .isInstanceOf(SchemaException.class)
                .hasMessageContaining("pattern");
    }
}
