package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadSpecTest {

    private static LoadSpec spec(List<Integer> concurrency, List<Double> rates, Double sloTtft, Double sloItl) {
        return new LoadSpec(
                "http://h:1",
                "m",
                null,
                concurrency,
                rates,
                10,
                new TokenDistribution.Fixed(8),
                new TokenDistribution.Fixed(8),
                1,
                0,
                sloTtft,
                sloItl,
                Duration.ofSeconds(1),
                1,
                LoadSpec.Routing.DEFAULT);
    }

    @Test
    void levelsComeFromConcurrencyOrRateButNotBoth() {
        assertThat(spec(List.of(1, 8), null, null, null).levels())
                .containsExactly(new LoadSpec.Level(1, null), new LoadSpec.Level(8, null));
        LoadSpec open = spec(null, List.of(2.5), null, null);
        assertThat(open.openLoop()).isTrue();
        assertThat(open.levels().getFirst().label()).isEqualTo("2.5 req/s");
        assertThatThrownBy(() -> spec(List.of(1), List.of(1.0), null, null)).hasMessageContaining("not both");
        assertThatThrownBy(() -> spec(null, null, null, null)).hasMessageContaining("--concurrency or --rate");
        assertThatThrownBy(() -> spec(List.of(0), null, null, null)).hasMessageContaining("got 0");
        assertThatThrownBy(() -> spec(null, List.of(-1.0), null, null)).hasMessageContaining("-1.0");
    }

    @Test
    void elsewhereKeepsTheRequestsAndDropsTheLevelsTurnsAndObjectives() {
        LoadSpec run = spec(null, List.of(2.0, 4.0), 100.0, 20.0);

        LoadSpec other = run.elsewhere("http://other:2/v1", 8, 40);

        assertThat(other.url()).isEqualTo("http://other:2/v1");
        assertThat(other.levels()).containsExactly(new LoadSpec.Level(8, null));
        assertThat(other.requests()).isEqualTo(40);
        assertThat(other.hasSlo()).isFalse();
        assertThat(other.turns()).isEqualTo(1);
        assertThat(other.sharedPrefixTokens()).isZero();
        assertThat(other.model()).isEqualTo(run.model());
        assertThat(other.promptTokens()).isEqualTo(run.promptTokens());
        assertThat(other.seed()).isEqualTo(run.seed());
        assertThat(other.routing()).isEqualTo(run.routing());
    }

    @Test
    void sloNeedsEveryGivenObjective() {
        LoadSpec both = spec(List.of(1), null, 100.0, 20.0);
        RequestResult fast = new RequestResult(1, 200, null, 90, new double[] {10, 25}, 200, 3, 8, -1, "");
        RequestResult slowItl = new RequestResult(1, 200, null, 90, new double[] {30, 25}, 200, 3, 8, -1, "");
        RequestResult slowTtft = new RequestResult(1, 200, null, 101, new double[] {1}, 200, 2, 8, -1, "");
        assertThat(both.meetsSlo(fast)).isTrue(); // mean ITL 17.5
        assertThat(both.meetsSlo(slowItl)).isFalse(); // mean ITL 27.5
        assertThat(both.meetsSlo(slowTtft)).isFalse();
        assertThat(both.meetsSlo(RequestResult.failed(1, 429, "x", 1, 8))).isFalse();
        assertThat(spec(List.of(1), null, null, 20.0).meetsSlo(slowTtft)).isTrue();
        assertThat(spec(List.of(1), null, null, null).hasSlo()).isFalse();
    }

    @Test
    void endpointAcceptsBaseUrlWithOrWithoutV1() {
        assertThat(RequestDriver.chatEndpoint("http://h:8000"))
                .isEqualTo(URI.create("http://h:8000/v1/chat/completions"));
        assertThat(RequestDriver.chatEndpoint("https://h/v1/")).isEqualTo(URI.create("https://h/v1/chat/completions"));
        assertThatThrownBy(() -> RequestDriver.chatEndpoint("localhost:8000")).hasMessageContaining("localhost:8000");
        assertThatThrownBy(() -> RequestDriver.chatEndpoint("http://bad host")).hasMessageContaining("bad host");
    }

    @Test
    void failureDescriptionFindsTheMessageInNestedCauses() {
        Exception nested = new java.net.ConnectException();
        nested.initCause(new java.io.IOException("Connection refused"));
        assertThat(RequestDriver.describe(nested)).isEqualTo("ConnectException: Connection refused");
        assertThat(RequestDriver.describe(new java.io.IOException())).isEqualTo("IOException");
    }

    @Test
    void requestBodyAsksForUsageAndAFixedOutputLength() throws Exception {
        RequestDriver driver =
                new RequestDriver(RequestDriver.client(Duration.ofSeconds(1), 1), "http://h:1", "m1", null);
        JsonNode body = new ObjectMapper()
                .readTree(driver.requestBody(List.of(new RequestDriver.Message("user", "hi \"there\"")), 42));
        assertThat(body.path("model").asText()).isEqualTo("m1");
        assertThat(body.path("messages").get(0).path("content").asText()).isEqualTo("hi \"there\"");
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.path("stream_options").path("include_usage").asBoolean())
                .isTrue();
        assertThat(body.path("max_tokens").asInt()).isEqualTo(42);
        assertThat(body.path("min_tokens").asInt()).isEqualTo(42);
        assertThat(body.path("ignore_eos").asBoolean()).isTrue();
    }

    @Test
    void promptTextIsSizedByWordsAndStartsWithItsLabel() {
        String a = PromptText.generate("Request 1:", 100, 5);
        String b = PromptText.generate("Request 2:", 100, 5);
        assertThat(a).startsWith("Request 1: ");
        assertThat(a.substring("Request 1: ".length())).isEqualTo(b.substring("Request 2: ".length()));
        assertThat(a.split(" ")).hasSize(2 + 75);
        assertThat(PromptText.wordsFor(1)).isEqualTo(1);
        assertThat(PromptText.generate("x", 100, 6)).isNotEqualTo(PromptText.generate("x", 100, 5));
    }
}
