package io.kvasir.fabric.gateway;

import akka.actor.Cancellable;
import akka.actor.typed.Scheduler;
import io.kvasir.fabric.replica.ReplicaView;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import scala.concurrent.ExecutionContextExecutor;

/**
 * Waits for a condition on the node's replica view (a decode replica up, this node idle), up to a
 * deadline: woken by the view's own publications, so the answer comes as soon as the directory
 * knows, with no polling.
 */
final class ReplicaWait {

    private ReplicaWait() {}

    /** Completes with true as soon as {@code model} has a decode replica, or false after {@code wait}. */
    static CompletionStage<Boolean> forDecodeReplica(
            ReplicaView view, String model, Duration wait, Scheduler scheduler, ExecutionContextExecutor executor) {
        return until(view, () -> view.hasDecodeReplica(model), wait, scheduler, executor);
    }

    /** Completes with true as soon as {@code holds} does (checked at each publication), or false after {@code wait}. */
    static CompletionStage<Boolean> until(
            ReplicaView view,
            java.util.function.BooleanSupplier holds,
            Duration wait,
            Scheduler scheduler,
            ExecutionContextExecutor executor) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        Runnable check = () -> {
            if (holds.getAsBoolean()) {
                result.complete(true);
            }
        };
        view.onChange(check);
        Cancellable deadline = scheduler.scheduleOnce(wait, () -> result.complete(false), executor);
        result.whenComplete((up, failure) -> {
            view.removeListener(check);
            deadline.cancel();
        });
        check.run(); // it may hold already, or have come true between the caller's look and the listener
        return result;
    }
}
