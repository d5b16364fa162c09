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
import org.junit.jupiter.api.Test;

class AdmissionControlTest {

    private static AdmissionControl admission(int maxInFlight, int queue) {
        ModelSettings m = new ModelSettings("m", Path.of(""), 128, 16, 4, Map.of("decode", 1), maxInFlight, queue, 64, 512, 64, "F16",
                "kvasir", false, false);
        return new AdmissionControl(List.of(m), Duration.ofSeconds(3));
    }

    @Test
    void requestsBeyondInFlightAndQueueAreRefusedWithRetryAfter() {
        AdmissionControl admission = admission(1, 1);
        assertThat(admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture()).isCompleted();
        assertThat(admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture()).isNotDone();

        assertThatThrownBy(() -> admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture().get())
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
                    assertThat(e.retryAfterSeconds()).isEqualTo(3);
                });
        assertThat(admission.pending()).isEqualTo(2);
        assertThat(admission.queued("m")).isEqualTo(1);
    }

    @Test
    void freedSlotGoesToInteractiveBeforeBatch() throws Exception {
        AdmissionControl admission = admission(1, 4);
        AdmissionControl.Permit running = admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture().get();
        CompletableFuture<AdmissionControl.Permit> batch = admission.acquire("m", Workload.BATCH).toCompletableFuture();
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
        CompletableFuture<AdmissionControl.Permit> queuedBatch = admission.acquire("m", Workload.BATCH).toCompletableFuture();
        CompletableFuture<AdmissionControl.Permit> interactive =
                admission.acquire("m", Workload.INTERACTIVE).toCompletableFuture();

        assertThat(queuedBatch).isCompletedExceptionally();
        assertThat(interactive).isNotDone();
        assertThatThrownBy(() -> admission.acquire("m", Workload.BATCH).toCompletableFuture().get())
                .cause().isInstanceOf(FabricException.class);
    }

    @Test
    void unknownModelIsRefused() {
        assertThatThrownBy(() -> admission(1, 1).acquire("other", Workload.INTERACTIVE).toCompletableFuture().get())
                .cause().isInstanceOfSatisfying(FabricException.class,
                        e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNKNOWN_MODEL));
    }
}
