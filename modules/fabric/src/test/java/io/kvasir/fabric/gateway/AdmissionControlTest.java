package io.kvasir.fabric.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AdmissionControlTest {

    private static final AdmissionControl.Objectives WAITS =
            new AdmissionControl.Objectives(Duration.ofSeconds(2), Duration.ofSeconds(30));

    /** Model "m", one decode replica, with this many requests in flight and queued at most. */
    static ModelSettings model(int maxInFlight, int queue) {
        return new ModelSettings(
                "m",
                Path.of(""),
                128,
                16,
                4,
                Map.of("decode", 1),
                maxInFlight,
                queue,
                64,
                512,
                64,
                "F16",
                0,
                0.5,
                Duration.ZERO,
                "kvasir",
                false,
                false);
    }

    /** A forecast that predicts whatever {@code predicted} holds, and learns nothing. */
    private static AdmissionControl.TtftForecast predicting(AtomicLong predicted) {
        return new AdmissionControl.TtftForecast() {
            @Override
            public long predictedTtftNanos(String model, int promptTokens) {
                return predicted.get();
            }

            @Override
            public Ticket admitted(String model, int promptTokens) {
                return Ticket.NONE;
            }
        };
    }

    private static AdmissionControl admission(int maxInFlight, int queue) {
        return new AdmissionControl(List.of(model(maxInFlight, queue)), WAITS);
    }

    @Test
    void requestsBeyondInFlightAndQueueAreRefusedWithRetryAfter() {
        AdmissionControl admission = admission(1, 1);
        assertThat(admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture())
                .isCompleted();
        assertThat(admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture())
                .isNotDone();

        assertThatThrownBy(() -> admission
                        .acquire("m", Workload.INTERACTIVE)
                        .toCompletableFuture()
                        .get())
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
                    assertThat(e.retryAfterSeconds()).isEqualTo(1); // nothing finished yet: no wait to predict
                });
        assertThat(admission.pending()).isEqualTo(2);
        assertThat(admission.queued("m")).isEqualTo(1);
        assertThat(admission.refusals("m", AdmissionControl.Refusal.QUEUE_FULL)).isEqualTo(1);
        assertThat(admission.refusals("m", AdmissionControl.Refusal.FORECAST)).isZero();
    }

    @Test
    void freedSlotGoesToInteractiveBeforeBatch() throws Exception {
        AdmissionControl admission = admission(1, 4);
        AdmissionControl.Permit running = admission
                .acquire("m", Workload.INTERACTIVE)
                .toCompletableFuture()
                .get();
        CompletableFuture<AdmissionControl.Permit> batch =
                admission.acquire("m", Workload.BATCH).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> interactive =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();

        running.release();
        running.release(); // a second release must not free a second slot

        assertThat(interactive).isCompleted();
        assertThat(batch).isNotDone();
        interactive.get().release();
        assertThat(batch).isCompleted();
        batch.get().release();
        assertThat(admission.pending()).isZero();
    }

    @Test
    void fullQueueShedsBatchWorkForInteractive() {
        AdmissionControl admission = admission(1, 1);
        admission.acquire("m", Workload.BATCH);
        CompletableFuture<AdmissionControl.Permit> queuedBatch =
                admission.acquire("m", Workload.BATCH).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> interactive =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();

        assertThat(queuedBatch).isCompletedExceptionally();
        assertThat(interactive).isNotDone();
        assertThatThrownBy(() -> admission
                        .acquire("m", Workload.BATCH)
                        .toCompletableFuture()
                        .get())
                .cause()
                .isInstanceOf(FabricException.class);
    }

    @Test
    void unknownModelIsRefused() {
        assertThatThrownBy(() -> admission(1, 1)
                        .acquire("other", Workload.INTERACTIVE)
                        .toCompletableFuture()
                        .get())
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNKNOWN_MODEL));
    }

    @Test
    void theLimitCountsTheOtherGatewaysRequestsInFlight() throws Exception {
        AtomicInteger remote = new AtomicInteger(3);
        AdmissionControl admission =
                new AdmissionControl(List.of(model(4, 8)), WAITS, m -> remote.get(), null, System::nanoTime);

        AdmissionControl.Permit mine = admission
                .acquire("m", Workload.INTERACTIVE)
                .toCompletableFuture()
                .get();
        CompletableFuture<AdmissionControl.Permit> waiting =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();
        assertThat(waiting).isNotDone(); // 1 here + 3 elsewhere = the limit of 4

        remote.set(2);
        admission.recheck(); // another gateway's report: one of its requests ended
        assertThat(waiting).isCompleted();
        assertThat(admission.inFlight("m")).isEqualTo(2);
        mine.release();
        waiting.get().release();
        assertThat(admission.pending()).isZero();
    }

    @Test
    void aRequestWhoseWaitWouldMissItsObjectiveIsRefusedAtOnceWithThePredictedWait() throws Exception {
        AtomicLong now = new AtomicLong();
        AdmissionControl admission = new AdmissionControl(List.of(model(2, 100)), WAITS, m -> 0, null, now::get);
        // Requests hold their slot 3 s each: with 2 slots, a slot frees every 1.5 s.
        for (int i = 0; i < 4; i++) {
            AdmissionControl.Permit p = admission
                    .acquire("m", Workload.INTERACTIVE)
                    .toCompletableFuture()
                    .get();
            now.addAndGet(3_000_000_000L);
            p.release();
        }
        admission.acquire("m", Workload.INTERACTIVE);
        admission.acquire("m", Workload.INTERACTIVE);

        // The first waiter is predicted to wait 1.5 s (within 2 s): it queues.
        assertThat(admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture())
                .isNotDone();
        // The second would wait 3 s: refused now, told to come back in 3 s.
        assertThatThrownBy(() -> admission
                        .acquire("m", Workload.INTERACTIVE)
                        .toCompletableFuture()
                        .get())
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
                    assertThat(e.retryAfterSeconds()).isEqualTo(3);
                });
        // Batch work may wait longer (30 s), behind the interactive waiter.
        assertThat(admission.acquire("m", Workload.BATCH).toCompletableFuture()).isNotDone();
        assertThat(admission.queued("m")).isEqualTo(2);
    }

    @Test
    void theQueueWaitAndThePromptWorkAheadShareOneTimeToFirstTokenObjective() throws Exception {
        AtomicLong now = new AtomicLong();
        AdmissionControl admission = new AdmissionControl(
                List.of(model(1, 100)),
                new AdmissionControl.Objectives(
                        Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(60)),
                m -> 0,
                null,
                now::get);
        AtomicLong predicted = new AtomicLong();
        admission.forecast(predicting(predicted));
        AdmissionControl.Permit p = admission
                .acquire("m", Workload.INTERACTIVE, 10)
                .toCompletableFuture()
                .get();
        now.addAndGet(1_000_000_000L); // a request holds its only slot 1 s
        p.release();
        admission.acquire("m", Workload.INTERACTIVE, 10);

        // Predicted to wait 1 s for the slot: fits 2 s while the prompt work ahead is 0.5 s...
        predicted.set(500_000_000L);
        assertThat(admission.acquire("m", Workload.INTERACTIVE, 10).toCompletableFuture())
                .isNotDone();
        // ...but not when it is 1.5 s: both come out of the same objective.
        predicted.set(1_500_000_000L);
        assertThat(admission.acquire("m", Workload.INTERACTIVE, 10).toCompletableFuture())
                .isCompletedExceptionally();
        assertThat(admission.refusals("m", AdmissionControl.Refusal.QUEUE_WAIT)).isEqualTo(1);
        // Past the objective on its own: refused by the forecast, before any queue is looked at.
        predicted.set(2_500_000_000L);
        assertThat(admission.acquire("m", Workload.INTERACTIVE, 10).toCompletableFuture())
                .isCompletedExceptionally();
        assertThat(admission.refusals("m", AdmissionControl.Refusal.FORECAST)).isEqualTo(1);
        assertThat(admission.predictedTtftNanos("m")).isEqualTo(2_500_000_000L);
    }

    @Test
    void theForecastAloneTellsARefusalWithoutTakingASlot() {
        AdmissionControl admission = new AdmissionControl(
                List.of(model(1, 100)),
                new AdmissionControl.Objectives(
                        Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(2), Duration.ofSeconds(60)),
                m -> 0,
                null,
                System::nanoTime);
        AtomicLong predicted = new AtomicLong(1_900_000_000L);
        admission.forecast(predicting(predicted));
        assertThat(admission.forecastRefusal("m", Workload.INTERACTIVE, 10, 0)).isEmpty();
        // The same forecast for a request that spent 300 ms being accepted and read: past 2 s from its arrival.
        assertThat(admission.forecastRefusal("m", Workload.INTERACTIVE, 10, 300_000_000L))
                .hasValueSatisfying(e -> assertThat(e.retryAfterSeconds()).isEqualTo(1));
        // Nothing queued ahead: served at once, however long it took to arrive.
        predicted.set(0);
        assertThat(admission.forecastRefusal("m", Workload.INTERACTIVE, 10, 5_000_000_000L))
                .isEmpty();
        predicted.set(3_200_000_000L);
        var refusal = admission.forecastRefusal("m", Workload.INTERACTIVE, 10, 0);
        assertThat(refusal).hasValueSatisfying(e -> {
            assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
            assertThat(e.retryAfterSeconds()).isEqualTo(2); // 1.2 s past the objective, rounded up
        });
        // Within the batch class's own objective; and no model, no forecast: nothing to tell.
        assertThat(admission.forecastRefusal("m", Workload.BATCH, 10, 0)).isEmpty();
        assertThat(admission.forecastRefusal("nope", Workload.INTERACTIVE, 10, 0))
                .isEmpty();
        assertThat(admission.refusals("m", AdmissionControl.Refusal.FORECAST)).isEqualTo(2);
        assertThat(admission.pending("m")).isZero();
    }

    @Test
    void higherPriorityTenantsWaitAheadAndAFullQueueShedsTheLowest() throws Exception {
        AdmissionControl admission = admission(1, 2);
        AdmissionControl.Permit running = admission
                .acquire("m", Workload.INTERACTIVE, 0, 0)
                .toCompletableFuture()
                .get();
        CompletableFuture<AdmissionControl.Permit> low =
                admission.acquire("m", Workload.INTERACTIVE, 0, 1).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> high =
                admission.acquire("m", Workload.INTERACTIVE, 0, 5).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> higher =
                admission.acquire("m", Workload.INTERACTIVE, 0, 9).toCompletableFuture();
        assertThat(low).as("shed for a newcomer that ranks ahead").isCompletedExceptionally();
        assertThat(admission.acquire("m", Workload.INTERACTIVE, 0, 0).toCompletableFuture())
                .as("ranks behind everyone queued")
                .isCompletedExceptionally();

        running.release();
        assertThat(higher).isCompleted();
        assertThat(high).isNotDone();
        higher.get().release();
        assertThat(high).isCompleted();
    }

    @Test
    void aWaiterThatGaveUpPassesItsSlotOn() throws Exception {
        AdmissionControl admission = admission(1, 4);
        AdmissionControl.Permit running = admission
                .acquire("m", Workload.INTERACTIVE)
                .toCompletableFuture()
                .get();
        CompletableFuture<AdmissionControl.Permit> gaveUp =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> next =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();
        gaveUp.cancel(false);

        running.release();

        assertThat(next).isCompleted();
        next.get().release();
        assertThat(admission.pending()).isZero();
    }
}
