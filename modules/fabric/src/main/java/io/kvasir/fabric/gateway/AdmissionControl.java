package io.kvasir.fabric.gateway;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The gateway's bounded admission per model: up to {@code maxInFlight} requests go on into the
 * cluster, up to {@code admissionQueue} more wait here (interactive ahead of batch), and the rest
 * are refused with OVERLOADED before they cost the cluster anything. A full queue makes room for
 * an interactive request by shedding the newest waiting batch request.
 */
public final class AdmissionControl {

    /** A slot in flight; release it exactly once, when the request's stream ends. */
    public interface Permit {
        void release();
    }

    private final Map<String, Gate> gates = new ConcurrentHashMap<>();
    private final int retryAfterSeconds;

    public AdmissionControl(Iterable<ModelSettings> models, Duration retryAfter) {
        this.retryAfterSeconds = (int) Math.max(1, retryAfter.toSeconds());
        for (ModelSettings m : models) {
            gates.put(m.id(), new Gate(m.id(), m.maxInFlight(), m.admissionQueue()));
        }
    }

    public CompletionStage<Permit> acquire(String model, Workload workload) {
        Gate gate = gates.get(model);
        if (gate == null) {
            return CompletableFuture.failedFuture(
                    new FabricException(FabricException.Kind.UNKNOWN_MODEL, "The model '" + model + "' does not exist", "model", 0));
        }
        return gate.acquire(workload == null ? Workload.INTERACTIVE : workload);
    }

    /** Requests of one model in flight or waiting here. */
    public int pending(String model) {
        Gate gate = gates.get(model);
        return gate == null ? 0 : gate.pending();
    }

    /** Requests of one model waiting here for a slot (the admission queue's depth). */
    public int queued(String model) {
        Gate gate = gates.get(model);
        return gate == null ? 0 : gate.queued();
    }

    /** Requests in flight or waiting, over every model. */
    public int pending() {
        return gates.values().stream().mapToInt(Gate::pending).sum();
    }

    private final class Gate {
        private final String model;
        private final int maxInFlight;
        private final int queueSize;
        private final ArrayDeque<CompletableFuture<Permit>> interactive = new ArrayDeque<>();
        private final ArrayDeque<CompletableFuture<Permit>> batch = new ArrayDeque<>();
        private int inFlight;

        Gate(String model, int maxInFlight, int queueSize) {
            this.model = model;
            this.maxInFlight = maxInFlight;
            this.queueSize = queueSize;
        }

        CompletionStage<Permit> acquire(Workload workload) {
            CompletableFuture<Permit> waiter = new CompletableFuture<>();
            CompletableFuture<Permit> shed = null;
            synchronized (this) {
                if (inFlight < maxInFlight) {
                    inFlight++;
                    return CompletableFuture.completedFuture(newPermit());
                }
                if (interactive.size() + batch.size() >= queueSize) {
                    if (workload != Workload.INTERACTIVE || batch.isEmpty()) {
                        return CompletableFuture.failedFuture(overloaded());
                    }
                    shed = batch.pollLast();
                }
                (workload == Workload.INTERACTIVE ? interactive : batch).add(waiter);
            }
            if (shed != null) {
                shed.completeExceptionally(overloaded());
            }
            return waiter;
        }

        synchronized int queued() {
            return interactive.size() + batch.size();
        }

        synchronized int pending() {
            return inFlight + interactive.size() + batch.size();
        }

        private Permit newPermit() {
            return new Permit() {
                private boolean released;

                @Override
                public void release() {
                    synchronized (Gate.this) {
                        if (released) {
                            return;
                        }
                        released = true;
                    }
                    handOver();
                }
            };
        }

        /** A finished request's slot goes to the next waiter, interactive first. */
        private void handOver() {
            while (true) {
                CompletableFuture<Permit> next;
                synchronized (this) {
                    next = interactive.isEmpty() ? batch.poll() : interactive.poll();
                    if (next == null) {
                        inFlight--;
                        return;
                    }
                }
                // A waiter whose caller gave up (cancelled future) passes the slot on.
                if (next.complete(newPermit())) {
                    return;
                }
            }
        }

        private FabricException overloaded() {
            return new FabricException(FabricException.Kind.OVERLOADED,
                    "Too many requests for model '" + model + "'; retry later", null, retryAfterSeconds);
        }
    }
}
