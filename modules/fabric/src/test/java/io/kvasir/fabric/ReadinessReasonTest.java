package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node whose only model cannot load stays up, unready, and says why: in Kubernetes the pod's log
 * must name the missing file, not only "not ready", and the pod must not crash-loop.
 */
class ReadinessReasonTest {

    private ActorTestKit kit;

    @AfterEach
    void stop() {
        if (kit != null) {
            kit.shutdownTestKit();
        }
    }

    @Test
    void aModelThatCannotLoadIsNamedAsTheReasonTheNodeIsNotReady() {
        kit = ActorTestKit.create(
                "readiness",
                TestNodes.config("broken { path = \"missing.gguf\" }", List.of("gateway", "decode"), true, ""));
        KvasirFabric fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));

        TestNodes.await(() -> fabric.notReadyReason().orElse("").contains("failed to load here"));
        assertThat(fabric.notReadyReason())
                .hasValueSatisfying(why -> assertThat(why)
                        .contains("no replica of broken is up")
                        .contains("replica broken:decode:0 failed to load here")
                        .contains("missing.gguf"));
        assertThat(fabric.ready()).isFalse();
        // /admin/models names it too (the replica itself is not listed: it is not up).
        TestNodes.await(() -> !status(fabric).errors().isEmpty());
        assertThat(status(fabric).replicas()).isEmpty();
        assertThat(status(fabric).errors())
                .singleElement()
                .asString()
                .contains("replica broken:decode:0 failed to load on "
                        + kit.system().address())
                .contains("missing.gguf");
    }

    private static io.kvasir.fabric.api.Fabric.ModelStatus status(KvasirFabric fabric) {
        return status(fabric, "broken");
    }

    private static io.kvasir.fabric.api.Fabric.ModelStatus status(KvasirFabric fabric, String model) {
        try {
            return fabric.modelStatus().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS).stream()
                    .filter(s -> s.model().equals(model))
                    .findFirst()
                    .orElseThrow();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aModelLargerThanTheNodesMemoryBudgetIsRefusedWithBothFigures() throws Exception {
        java.nio.file.Path gguf = java.nio.file.Files.createTempFile("budget", ".gguf");
        try {
            io.kvasir.engine.synth.SyntheticModel.write(io.kvasir.engine.synth.SyntheticModel.Spec.tiny(), gguf);
            String path = gguf.toString().replace("\\", "/");
            kit = ActorTestKit.create(
                    "readiness-budget",
                    TestNodes.config(
                            "big { path = \"" + path + "\", kv-cache-blocks = 64, kv-block-size = 16 }",
                            List.of("gateway", "decode"),
                            true,
                            "kvasir.node.memory-budget = 64KiB\n"));
            KvasirFabric fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));
            TestNodes.await(() -> fabric.notReadyReason().orElse("").contains("failed to load here"));
            assertThat(fabric.notReadyReason())
                    .hasValueSatisfying(why -> assertThat(why)
                            .contains("replica big:decode:0 failed to load here")
                            .contains("model big needs about")
                            .contains("kvasir.node.memory-budget is 64.0 KiB"));
            TestNodes.await(() -> !status(fabric, "big").errors().isEmpty());
            assertThat(status(fabric, "big").errors())
                    .singleElement()
                    .asString()
                    .contains("KV pool");
        } finally {
            java.nio.file.Files.deleteIfExists(gguf);
        }
    }

    @Test
    void aServingNodeHasNoReason() {
        kit = ActorTestKit.create(
                "readiness-ok",
                TestNodes.config(
                        "tiny { max-model-length = 1024, kv-cache-blocks = 64, kv-block-size = 4 }",
                        List.of("gateway", "decode"),
                        true,
                        ""));
        KvasirFabric fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));
        TestNodes.await(fabric::ready);
        assertThat(fabric.notReadyReason()).isEqualTo(Optional.empty());
    }
}
