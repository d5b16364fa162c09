package io.kvasir.fabric.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.replica.ViewForTests;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PrefillBacklogTest {

    private final AtomicLong now = new AtomicLong();
    private final ReplicaView view = new ReplicaView();
    private final PrefillBacklog backlog = new PrefillBacklog(view, Duration.ofMillis(500), now::get);

    private void replicaReports(long queuedPrefillTokens, double prefillRate) {
        report(view, queuedPrefillTokens, prefillRate);
    }

    /** Model "m"'s one decode replica publishes this many prompt tokens queued and this prefill rate. */
    static void report(ReplicaView view, long queuedPrefillTokens, double prefillRate) {
        ReplicaLoad load =
                new ReplicaLoad(4, 2, 0, 512, 64, 0, 0, 0, 0, 0, queuedPrefillTokens, 448, 0, 0, 16, prefillRate);
        ViewForTests.publish(
                view, Map.of("m", List.of(new LoadReport("m:decode:0", "m", "n", "decode", load, new long[0], null))));
    }

    /**
     * Admission for model "m" on this test's forecast: queue waits of 500 ms and 30 s, a batch
     * objective of 60 s, and the given interactive objective and prefill counts.
     */
    private AdmissionControl admission(Duration interactiveTtft, int interactivePrefills, int batchPrefills) {
        AdmissionControl admission = new AdmissionControl(
                List.of(AdmissionControlTest.model(64, 64)),
                new AdmissionControl.Objectives(
                        Duration.ofMillis(500),
                        Duration.ofSeconds(30),
                        interactiveTtft,
                        Duration.ofSeconds(60),
                        interactivePrefills,
                        batchPrefills));
        admission.forecast(backlog);
        return admission;
    }

    /** Admits a request of {@code workload} at once (and lets it go), or fails the test. */
    private static void admits(AdmissionControl admission, Workload workload, int promptTokens) throws Exception {
        admission
                .acquire("m", workload, promptTokens)
                .toCompletableFuture()
                .get()
                .release();
    }

    @Test
    void predictsTheWaitBehindQueuedTokensAndAdmittedOnesOverThePrefillRate() {
        assertThat(backlog.predictedTtftNanos("m", 100)).as("no rate known yet").isZero();

        replicaReports(800, 1000);
        assertThat(backlog.predictedTtftNanos("m", 200)).isEqualTo(800_000_000L); // 800 / 1000 per s

        backlog.admitted("m", 500); // not in the replicas' reports yet
        assertThat(backlog.predictedTtftNanos("m", 200)).isEqualTo(1_300_000_000L);

        now.addAndGet(Duration.ofSeconds(1).toNanos()); // two report intervals later: reported by now
        assertThat(backlog.predictedTtftNanos("m", 200)).isEqualTo(800_000_000L);
    }

    @Test
    void admittedRequestsStayAheadUntilTheirFirstTokenEvenWhenNoReportCountsThem() {
        // The raw forecast: a first token reported back also teaches the calibration, not tested here.
        replicaReports(0, 1000); // the replica has not seen them: still in placement
        var first = backlog.admitted("m", 500);
        var second = backlog.admitted("m", 500);
        var third = backlog.admitted("m", 500);
        now.addAndGet(Duration.ofSeconds(1).toNanos()); // past the unreported window
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(1_500_000_000L);

        first.firstToken(480);
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(1_000_000_000L);
        second.ended(); // cancelled before its first token
        second.ended(); // a second report changes nothing
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(500_000_000L);
        third.firstToken(500);
        third.ended(); // its stream ends later: already settled
        assertThat(backlog.rawNanos("m", 0)).isZero();

        // What the replicas report counts when it is the larger figure.
        backlog.admitted("m", 300);
        now.addAndGet(Duration.ofSeconds(1).toNanos());
        replicaReports(900, 1000);
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(900_000_000L);
    }

    @Test
    void aPromptWhoseFirstTokenCameIsAheadOfNobodyInsideTheUnreportedWindowToo() {
        // Eight prompts arriving together (8 streams in step): as their first tokens come, the next
        // arrivals are no longer forecast behind them, though no report has counted them yet.
        replicaReports(0, 1000);
        var tickets = new java.util.ArrayList<AdmissionControl.TtftForecast.Ticket>();
        for (int i = 0; i < 8; i++) {
            tickets.add(backlog.admitted("m", 125));
        }
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(1_000_000_000L);

        now.addAndGet(Duration.ofMillis(300).toNanos()); // well inside the two-interval window
        for (int i = 0; i < 6; i++) {
            tickets.get(i).firstToken(125);
        }
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(250_000_000L);
        tickets.get(6).ended();
        tickets.get(7).firstToken(125);
        assertThat(backlog.rawNanos("m", 0)).isZero();

        // A report that still counts some of them (it is up to an interval old) counts as reported.
        replicaReports(250, 1000);
        assertThat(backlog.rawNanos("m", 0)).isEqualTo(250_000_000L);
    }

    @Test
    void aLongPromptOnAnIdleClusterIsNotHeldAgainstItself() {
        replicaReports(0, 1000);
        assertThat(backlog.predictedTtftNanos("m", 50_000)).isZero();
    }

    @Test
    void firstTokensReportedBackCorrectTheForecast() {
        replicaReports(800, 1000);
        for (int i = 0; i < 60; i++) {
            AdmissionControl.TtftForecast.Ticket ticket = backlog.admitted("m", 200); // raw: 1 s ahead
            now.addAndGet(Duration.ofSeconds(2).toNanos()); // it took twice as long
            ticket.firstToken(200);
        }
        // Each took twice the raw forecast (its own 200 tokens included): 800 queued tokens ahead now
        // predict twice their 0.8 s.
        assertThat(backlog.predictedTtftNanos("m", 200)).isBetween(1_500_000_000L, 1_700_000_000L);
    }

    @Test
    void aRequestPredictedPastItsObjectiveIsRefusedAtOnceAndBatchMayWaitLonger() throws Exception {
        AdmissionControl admission = admission(Duration.ofSeconds(1), 0, 0);
        replicaReports(2500, 1000); // 2.5 s of prompt work queued

        assertThatThrownBy(() -> admission
                        .acquire("m", Workload.INTERACTIVE, 100)
                        .toCompletableFuture()
                        .get())
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
                    assertThat(e.retryAfterSeconds()).isEqualTo(2); // 2.6 s predicted, 1 s allowed
                });
        admits(admission, Workload.BATCH, 100);

        replicaReports(300, 1000);
        admits(admission, Workload.INTERACTIVE, 100);
    }

    @Test
    void aSlowModelsObjectiveIsAFewOfItsOwnUnloadedPrompts() throws Exception {
        AdmissionControl admission = admission(Duration.ofSeconds(2), 4, 16);
        assertThat(admission.objectiveNanos("m", Workload.INTERACTIVE))
                .as("nothing known of the model yet: the fixed objective")
                .isEqualTo(2_000_000_000L);

        // A slow model: 100 prompt tokens a second, prompts of about 130 tokens, 1.3 s each.
        replicaReports(0, 100);
        for (int i = 0; i < 20; i++) {
            backlog.admitted("m", 130).ended();
        }
        now.addAndGet(Duration.ofSeconds(1).toNanos()); // long since reported: no longer counted ahead
        assertThat(admission.objectiveNanos("m", Workload.INTERACTIVE)).isEqualTo(5_200_000_000L);
        assertThat(admission.objectiveNanos("m", Workload.BATCH)).isEqualTo(60_000_000_000L);

        // Two such prompts queued ahead (2.6 s): past a fixed 2 s, within four of its own prompts.
        replicaReports(260, 100);
        admits(admission, Workload.INTERACTIVE, 130);
        // Six (7.8 s) are past it too.
        replicaReports(780, 100);
        assertThatThrownBy(() -> admission
                        .acquire("m", Workload.INTERACTIVE, 130)
                        .toCompletableFuture()
                        .get())
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED));

        // An overload halves the published rate: the objective keeps to the best rate seen.
        replicaReports(0, 50);
        assertThat(admission.objectiveNanos("m", Workload.INTERACTIVE)).isEqualTo(5_200_000_000L);
        // A fast model keeps the fixed objective: 130 tokens at 2,000 a second, 65 ms each.
        replicaReports(0, 2000);
        assertThat(admission.objectiveNanos("m", Workload.INTERACTIVE)).isEqualTo(2_000_000_000L);
    }
}
