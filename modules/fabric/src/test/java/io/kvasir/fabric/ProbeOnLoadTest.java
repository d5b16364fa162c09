package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A new replica publishes a prefill rate before it has served a prompt, also when its inter-token
 * objective is set (the lone-step probe alone would not run then): the admission forecast needs a
 * rate for a fresh server's first burst. Simulated engine (labelled: 1 ms a prompt token, so about
 * 1,000 tokens a second); no request is sent.
 */
class ProbeOnLoadTest {

    private static final String MODEL = "sim";
    private static final String MODELS =
            MODEL + " { simulated = true, max-model-length = 512, kv-cache-blocks = 64, itl-objective = 1s }";

    private ActorTestKit kit;

    @AfterEach
    void stop() {
        if (kit != null) {
            kit.shutdownTestKit();
        }
    }

    private KvasirFabric start(String probeOnLoad) {
        kit = ActorTestKit.create(
                "probe",
                TestNodes.config(
                        MODELS,
                        List.of("gateway", "decode"),
                        true,
                        "kvasir.replicas.probe-on-load = " + probeOnLoad + "\n"));
        return Kvasir.start(
                kit.system(),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.linear(1e-3, 0, 0.002, 0)));
    }

    private static LoadReport awaitReport(KvasirFabric fabric) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            List<LoadReport> reports = fabric.view().replicas(MODEL);
            if (fabric.ready() && !reports.isEmpty()) {
                // A report from after loading (the first ones may come while it loads).
                Thread.sleep(1_000);
                return fabric.view().replicas(MODEL).getFirst();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no replica of " + MODEL + " came up");
    }

    @Test
    void aFreshReplicaPublishesThePrefillRateItTimedAtLoad() throws Exception {
        LoadReport report = awaitReport(start("on"));
        assertThat(report.load().prefillTokensPerSecond())
                .as("prompt tokens a second, timed on the idle engine before any turn")
                .isBetween(300.0, 3_000.0);
    }

    @Test
    void withTheProbeOffAndASetObjectiveNoRateIsKnownBeforeTheFirstPrompts() throws Exception {
        LoadReport report = awaitReport(start("off"));
        assertThat(report.load().prefillTokensPerSecond()).isZero();
    }
}
