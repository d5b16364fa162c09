package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ClientWarmUpTest {

    private static LoadSpec spec() {
        // The URL is the server under test's; the warm-up must not send it anything (nothing listens here).
        return new LoadSpec(
                "http://127.0.0.1:9",
                "some-model",
                "secret",
                List.of(240),
                List.of(),
                1,
                new TokenDistribution.Fixed(16),
                new TokenDistribution.Fixed(8),
                1,
                0,
                null,
                null,
                Duration.ofSeconds(20),
                1,
                LoadSpec.Routing.DEFAULT);
    }

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void everyRequestGoesToTheStubWhichRefusesHalfAndStreamsTheRest(ClientKind raw) throws Exception {
        ClientWarmUp.Outcome outcome = ClientWarmUp.run(spec(), raw, 60);

        assertThat(outcome.streamed()).isEqualTo(30);
        assertThat(outcome.refused()).isEqualTo(30);
        // The driver read every streamed answer as a whole one: its parsing path is the one measured.
        assertThat(outcome.completed()).isEqualTo(30);
    }

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void noneMeansNothingIsSent(ClientKind raw) throws Exception {
        assertThat(ClientWarmUp.run(spec(), raw, 0)).isEqualTo(new ClientWarmUp.Outcome(0, 0, 0));
    }
}
