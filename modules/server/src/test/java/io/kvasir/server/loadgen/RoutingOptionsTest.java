package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code --workload}, {@code --session-header}, {@code --sessions} and the Retry-After parser. */
class RoutingOptionsTest {

    @Test
    void parsesPureClassesAndMixes() {
        assertThat(WorkloadMix.parse("interactive")).isEqualTo(WorkloadMix.INTERACTIVE);
        assertThat(WorkloadMix.parse(" batch ")).isEqualTo(WorkloadMix.BATCH);
        assertThat(WorkloadMix.parse("mix:0.8").interactiveFraction()).isEqualTo(0.8);
        assertThat(WorkloadMix.parse("mix:0.8").describe()).isEqualTo("mix:0.8");
        assertThat(WorkloadMix.parse("mix:1").describe())
                .as("a mix of one class is that class")
                .isEqualTo("interactive");
        assertThatThrownBy(() -> WorkloadMix.parse("mix:1.5")).hasMessageContaining("mix:1.5");
        assertThatThrownBy(() -> WorkloadMix.parse("mix:abc")).hasMessageContaining("mix:abc");
        assertThatThrownBy(() -> WorkloadMix.parse("realtime")).hasMessageContaining("interactive, batch or mix:F");
    }

    @Test
    void mixedClassesAreSeededPerSessionAndNearTheFraction() {
        WorkloadMix mix = new WorkloadMix(0.8);
        long interactive = LongStream.range(0, 10_000)
                .filter(s -> mix.choose(42, s) == Workload.INTERACTIVE)
                .count();
        assertThat(interactive).isBetween(7_700L, 8_300L);
        List<Workload> first =
                LongStream.range(0, 50).mapToObj(s -> mix.choose(42, s)).toList();
        assertThat(LongStream.range(0, 50).mapToObj(s -> mix.choose(42, s)).toList())
                .isEqualTo(first);
        assertThat(LongStream.range(0, 50).mapToObj(s -> mix.choose(43, s)).toList())
                .as("another seed, another draw")
                .isNotEqualTo(first);
        assertThat(LongStream.range(0, 50).mapToObj(s -> WorkloadMix.BATCH.choose(42, s)))
                .containsOnly(Workload.BATCH);
    }

    @Test
    void sessionHeaderIsOnOrOff() {
        assertThat(BenchServeCommand.onOff("on")).isTrue();
        assertThat(BenchServeCommand.onOff("OFF")).isFalse();
        assertThatThrownBy(() -> BenchServeCommand.onOff("maybe")).hasMessageContaining("on or off");
    }

    @Test
    void sessionsCountWholeConversations() {
        assertThat(parse("--sessions", "7", "--turns", "3").requestsPerLevel()).isEqualTo(21);
        assertThat(parse("--requests", "5").requestsPerLevel()).isEqualTo(5);
        assertThat(parse().requestsPerLevel()).isEqualTo(100);
        assertThatThrownBy(() -> parse("--sessions", "2", "--requests", "6").requestsPerLevel())
                .hasMessageContaining("not both");
        assertThat(parse("--system-prompt-tokens", "512").sharedPrefix)
                .as("alias of --shared-prefix")
                .isEqualTo(512);
    }

    @Test
    void retryAfterIsSecondsOrAnHttpDate() {
        Instant now = Instant.parse("2025-01-01T00:00:00Z");
        assertThat(RequestDriver.retryAfterSeconds("3", now)).isEqualTo(3.0);
        assertThat(RequestDriver.retryAfterSeconds(" 0 ", now)).isZero();
        assertThat(RequestDriver.retryAfterSeconds("Wed, 01 Jan 2025 00:00:30 GMT", now))
                .isEqualTo(30.0);
        assertThat(RequestDriver.retryAfterSeconds("Tue, 31 Dec 2024 23:59:00 GMT", now))
                .as("already past")
                .isZero();
        assertThat(RequestDriver.retryAfterSeconds(null, now)).isNaN();
        assertThat(RequestDriver.retryAfterSeconds("-1", now)).isNaN();
        assertThat(RequestDriver.retryAfterSeconds("soon", now)).isNaN();
    }

    private static BenchServeCommand parse(String... extra) {
        BenchServeCommand cmd = new BenchServeCommand();
        String[] base = {"--url", "http://h:1", "--model", "m"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }
}
