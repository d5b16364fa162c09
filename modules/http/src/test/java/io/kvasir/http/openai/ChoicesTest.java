package io.kvasir.http.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.ActorSystem;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** n > 1 and several prompts: how n one-choice answers become one. */
class ChoicesTest {

    private static ActorSystem system;

    @BeforeAll
    static void start() {
        system = ActorSystem.create("choices-test");
    }

    @AfterAll
    static void stop() {
        system.terminate();
    }

    private static JsonNode json(String s) throws Exception {
        return OpenAiJson.MAPPER.readTree(s);
    }

    @Test
    void wholeAnswersMergeWithIndexesAndUsageCountingEachPromptOnce() throws Exception {
        List<Object> bodies = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bodies.add(json("{\"id\":\"cmpl-" + i + "\",\"choices\":[{\"text\":\"t" + i + "\",\"index\":0}],"
                    + "\"usage\":{\"prompt_tokens\":" + (i < 2 ? 5 : 7) + ",\"completion_tokens\":" + (i + 1)
                    + ",\"total_tokens\":0}}"));
        }
        JsonNode merged = (JsonNode) Choices.merge(bodies, 2);
        assertThat(merged.get("id").asText()).isEqualTo("cmpl-0");
        for (int i = 0; i < 4; i++) {
            assertThat(merged.get("choices").get(i).get("index").asInt()).isEqualTo(i);
            assertThat(merged.get("choices").get(i).get("text").asText()).isEqualTo("t" + i);
        }
        assertThat(merged.get("usage").get("prompt_tokens").asInt()).isEqualTo(12);
        assertThat(merged.get("usage").get("completion_tokens").asInt()).isEqualTo(10);
        assertThat(merged.get("usage").get("total_tokens").asInt()).isEqualTo(22);
    }

    @Test
    void streamsMergeWithIndexesOneIdOneUsageAndOneDone() throws Exception {
        List<Source<ByteString, akka.NotUsed>> bodies = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String id = "cmpl-" + i;
            bodies.add(Source.from(List.of(
                    ByteString.fromString(
                            "data: {\"id\":\"" + id + "\",\"choices\":[{\"text\":\"a\",\"index\":0}]}\n\n"),
                    ByteString.fromString("data: {\"id\":\"" + id
                            + "\",\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}\n\n"
                            + "data: {\"id\":\"" + id + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
                            + "\"completion_tokens\":3,\"total_tokens\":7}}\n\n" + "data: [DONE]\n\n"))));
        }
        String all = Choices.streamed(bodies, 2, true)
                .runWith(
                        Sink.fold(ByteString.emptyByteString(), ByteString::concat), Materializer.matFromSystem(system))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS)
                .utf8String();
        List<String> frames = List.of(all.split("\n\n"));
        assertThat(frames.getLast()).isEqualTo("data: [DONE]");
        assertThat(frames.stream().filter(f -> f.equals("data: [DONE]"))).hasSize(1);
        JsonNode usage = json(frames.get(frames.size() - 2).substring(6));
        assertThat(usage.get("usage").get("prompt_tokens").asInt()).isEqualTo(4);
        assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(6);
        assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(10);
        List<Integer> indexes = new ArrayList<>();
        for (String f : frames.subList(0, frames.size() - 2)) {
            JsonNode chunk = json(f.substring(6));
            assertThat(chunk.get("id").asText()).isEqualTo(usage.get("id").asText());
            indexes.add(chunk.get("choices").get(0).get("index").asInt());
        }
        assertThat(indexes).containsExactlyInAnyOrder(0, 0, 1, 1);
    }

    @Test
    void nAndPromptListsAreCheckedWithTheirNames() throws Exception {
        assertThat(Choices.count(json("{}"))).isEqualTo(1);
        assertThat(Choices.count(json("{\"n\":3}"))).isEqualTo(3);
        for (String bad : List.of("0", "129", "1.5", "\"2\"", "-1")) {
            assertThatThrownBy(() -> Choices.count(json("{\"n\":" + bad + "}"))).hasMessageContaining("'n'");
        }
        assertThat(Choices.perPrompt(json("{\"prompt\":[\"a\",\"b\"]}"), 2))
                .extracting(b -> b.get("prompt").asText())
                .containsExactly("a", "b");
        assertThatThrownBy(() -> Choices.perPrompt(json("{\"prompt\":[\"a\",3]}"), 1))
                .hasMessageContaining("prompt[1]");
        assertThatThrownBy(() -> Choices.perPrompt(json("{\"prompt\":[\"a\",\"b\"]}"), 100))
                .hasMessageContaining("128");
    }
}
