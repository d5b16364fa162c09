package io.kvasir.fabric.health;

import static io.kvasir.fabric.health.HealthFixtures.S;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class NodeHealthTest {

    private static final long GIB = 1L << 30;

    private final HealthFixtures.Clock clock = new HealthFixtures.Clock();

    @Test
    void heapAndOffHeapCountAgainstTheBudgetAndGoingOverDegradesTheNode() {
        AtomicReference<MemoryFigures> memory =
                new AtomicReference<>(new MemoryFigures(2 * GIB, 8 * GIB, GIB, 4 * GIB));
        NodeHealth node =
                HealthFixtures.node(HealthFixtures.settings(8 * GIB, Duration.ofSeconds(10)), clock, memory::get);

        CheckResult within = find(node.checks(), "memory-budget");
        assertThat(within.failing()).isFalse();
        assertThat(within.figure()).isEqualTo(7.0 / 8);

        memory.set(new MemoryFigures(3 * GIB, 8 * GIB, GIB, 4 * GIB));
        clock.advance(S / 2);
        assertThat(find(node.checks(), "memory-budget").failing())
                .as("one sample over")
                .isFalse();
        clock.advance(S / 2);
        CheckResult over = find(node.checks(), "memory-budget");
        assertThat(over.failing()).isTrue();
        assertThat(over.severity()).isEqualTo(Severity.DEGRADED);
        assertThat(over.detail()).contains("= 8192 MiB of budget 8192 MiB");
        assertThat(find(node.checks(), "heap").failing())
                .as("3 of 8 GiB live is fine")
                .isFalse();
    }

    @Test
    void withoutABudgetOnlyTheHeapIsJudged() {
        NodeHealth node = HealthFixtures.node(
                HealthFixtures.settings(0, Duration.ofSeconds(10)), clock, () -> new MemoryFigures(96, 100, 0, 0));

        node.checks();
        clock.advance(S);
        List<CheckResult> checks = node.checks();

        assertThat(checks).extracting(CheckResult::check).containsExactly("heap");
        assertThat(checks.getFirst().failing()).isTrue();
        assertThat(checks.getFirst().severity()).isEqualTo(Severity.UNHEALTHY);
    }

    @Test
    void severalReplicasAskingOnOneTickMeasureOnce() {
        AtomicInteger reads = new AtomicInteger();
        NodeHealth node = HealthFixtures.node(HealthFixtures.settings(0, Duration.ofSeconds(10)), clock, () -> {
            reads.incrementAndGet();
            return new MemoryFigures(99, 100, 0, 0);
        });

        for (int i = 0; i < 5; i++) {
            node.checks();
        }
        assertThat(reads).hasValue(1);
        assertThat(node.checks().getFirst().failing())
                .as("five replicas asking is still one failing sample")
                .isFalse();
        clock.advance(S / 2);
        assertThat(node.checks().getFirst().failing()).isTrue();
        assertThat(reads).hasValue(2);
    }

    @Test
    void theJvmsOwnFiguresAreSensible() {
        MemoryFigures m = MemoryFigures.platform();

        assertThat(m.heapLiveBytes()).isPositive();
        assertThat(m.heapMaxBytes()).isGreaterThanOrEqualTo(m.heapLiveBytes());
        assertThat(m.directBytes()).isNotNegative();
        assertThat(m.mappedBytes()).isNotNegative();
    }

    @Test
    void withoutNvmlThereAreNoGpuChecksAndTheNodeStillStarts() {
        HealthSettings withNvml = new HealthSettings(
                true,
                2,
                Duration.ofSeconds(5),
                0.95,
                0,
                1.0,
                4.0,
                60,
                10,
                Duration.ofSeconds(10),
                50,
                0.02,
                true,
                90,
                0.98);
        java.nio.file.Path nvml = java.nio.file.Path.of("/usr/lib/x86_64-linux-gnu/" + Nvml.LIBRARY);
        org.junit.jupiter.api.Assumptions.assumeFalse(
                java.nio.file.Files.exists(nvml), "this machine has NVML: the absent path is not testable here");

        try (NodeHealth node = NodeHealth.start(withNvml, Duration.ofMillis(500))) {
            assertThat(node.gpus()).isFalse();
            assertThat(node.checks()).extracting(CheckResult::check).noneMatch(c -> c.startsWith("gpu"));
        }
    }

    @Test
    void theBudgetIsAutoOrASizeAsTheFleetReadsIt() {
        assertThat(MemoryBudget.bytes(ConfigFactory.parseString("kvasir.node.memory-budget = 24GiB")))
                .isEqualTo(24 * GIB);
        assertThat(MemoryBudget.bytes(ConfigFactory.parseString("kvasir.node.memory-budget = 1048576")))
                .isEqualTo(1 << 20);
        assertThat(MemoryBudget.bytes(ConfigFactory.parseString("kvasir.node.memory-budget = 0")))
                .as("no budget check")
                .isZero();
        assertThat(MemoryBudget.bytes(ConfigFactory.empty())).isZero();
        // 3/4 of a 4 GiB heap plus 3/4 of the 12 GiB beyond it on a 16 GiB machine.
        assertThat(MemoryBudget.auto(4 * GIB, 16 * GIB)).isEqualTo(12 * GIB);
        assertThat(MemoryBudget.auto(4 * GIB, 2 * GIB))
                .as("a heap larger than the machine")
                .isEqualTo(3 * GIB);
        assertThat(MemoryBudget.bytes(ConfigFactory.parseString("kvasir.node.memory-budget = auto")))
                .isEqualTo(MemoryBudget.auto(Runtime.getRuntime().maxMemory(), MemoryBudget.physicalMemory()))
                .isPositive();
        assertThatThrownBy(() -> MemoryBudget.bytes(ConfigFactory.parseString("kvasir.node.memory-budget = lots")))
                .hasMessage("kvasir.node.memory-budget must be auto or a size such as 24GiB, got 'lots'");
    }

    @Test
    void referenceConfHasEveryKey() {
        HealthSettings settings = HealthSettings.from(ConfigFactory.load());

        assertThat(settings.enabled()).isTrue();
        assertThat(settings.memoryBudgetBytes()).as("auto").isPositive();
        assertThat(settings.stuckAfter()).isEqualTo(Duration.ofSeconds(10));
        assertThat(settings.failSamples()).isEqualTo(2);
    }

    private static CheckResult find(List<CheckResult> checks, String name) {
        return checks.stream().filter(c -> c.check().equals(name)).findFirst().orElseThrow();
    }
}
