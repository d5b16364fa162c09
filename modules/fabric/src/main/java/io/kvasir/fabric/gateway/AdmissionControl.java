package io.kvasir.fabric.gateway;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * Admission per model, against a cluster-wide limit: a request goes on into the cluster when the
 * model's requests in flight, from this gateway and (as last published) from every other one, are
 * below the model's limit. Otherwise it may wait here, but only when the wait predicted for its
 * place in the queue fits its workload class's objective; the rest are refused at once (429) with a
 * Retry-After computed from that prediction, so a client never waits in a queue that cannot serve
 * it in time and an overloaded cluster answers in microseconds, not after a timeout.
 *
 * <p>The prediction is Little's law over this gateway's own recent requests: a slot frees every
 * {@code meanHold / limit} on average, so the k-th waiter waits about {@code k * meanHold / limit}.
 * Interactive requests wait ahead of batch ones, and a full queue makes room for an interactive
 * request by shedding the newest batch one: batch work runs on slack. Within a class, requests of a
 * higher-priority tenant wait ahead of lower ones (first come, first served among equals), and a
 * full queue sheds the lowest-priority newest waiter for a newcomer that ranks ahead of it.
 */
public final class AdmissionControl {

    /** A slot in flight; release it exactly once, when the request's stream ends. */
    public interface Permit {
        void release();

        /**
         * The request's first token arrived, its prompt counted {@code promptTokens} tokens: what
         * the time-to-first-token forecast learns from. Calls after the first are ignored.
         */
        default void firstToken(int promptTokens) {}
    }

    /**
     * How long a request of each class may be predicted to wait here: a share of its TTFT
     * objective (the rest is for placement and prefill). Each class's TTFT objective is the longer
     * of its fixed figure and the time the model's replicas take, unloaded, to prefill that many of
     * its recent prompts ({@code interactivePrefills}, {@code batchPrefills}; 0: the fixed figure
     * alone): a fixed 2 s suits a small model, but a model whose one prompt takes 1.3 s to prefill
     * would then serve one client at a time and refuse the second.
     */
    public record Objectives(
            Duration interactiveWait,
            Duration batchWait,
            Duration interactiveTtft,
            Duration batchTtft,
            int interactivePrefills,
            int batchPrefills) {
        /** Queue-wait bounds only, with no time-to-first-token objectives (nothing refused for backlog). */
        public Objectives(Duration interactiveWait, Duration batchWait) {
            this(interactiveWait, batchWait, Duration.ZERO, Duration.ZERO);
        }

        /** Fixed time-to-first-token objectives, none derived from the model's speed. */
        public Objectives(Duration interactiveWait, Duration batchWait, Duration interactiveTtft, Duration batchTtft) {
            this(interactiveWait, batchWait, interactiveTtft, batchTtft, 0, 0);
        }

        /** How many of a model's prompts, prefilled unloaded, the class's objective is at least. */
        public int prefillsFor(Workload workload) {
            return workload == Workload.BATCH ? batchPrefills : interactivePrefills;
        }

        public Duration waitFor(Workload workload) {
            return workload == Workload.BATCH ? batchWait : interactiveWait;
        }

        /** The class's time-to-first-token objective; zero: none. */
        public Duration ttftFor(Workload workload) {
            return workload == Workload.BATCH ? batchTtft : interactiveTtft;
        }
    }

    /** What predicts a new request's time to first token from the prompt work ahead of it. */
    public interface TtftForecast {
        TtftForecast NONE = new TtftForecast() {
            @Override
            public long predictedTtftNanos(String model, int promptTokens) {
                return 0;
            }

            @Override
            public Ticket admitted(String model, int promptTokens) {
                return Ticket.NONE;
            }
        };

        long predictedTtftNanos(String model, int promptTokens);

        /**
         * How long one of the model's recent prompts takes to prefill on an idle replica, at the
         * best rate its replicas have shown; 0 while not known.
         */
        default long unloadedPromptNanos(String model) {
            return 0;
        }

        /** The learnt factor between predicted and measured times to first token (1: none learnt). */
        default double slope(String model) {
            return 1;
        }

        /** A request of about {@code promptTokens} was admitted now; its ticket reports its first token. */
        Ticket admitted(String model, int promptTokens);

        /** One admitted request's prediction, to be compared with what happened. */
        interface Ticket {
            Ticket NONE = promptTokens -> {};

            void firstToken(int promptTokens);

            /** The request ended (its slot was released), with or without a first token. */
            default void ended() {}
        }
    }

    private final Map<String, Gate> gates = new ConcurrentHashMap<>();
    private final Objectives objectives;
    private final ToIntFunction<String> remoteInFlight;
    private final ToIntFunction<String> limit;
    private final LongSupplier nanoTime;
    private volatile TtftForecast forecast = TtftForecast.NONE;

    /**
     * Why a request was refused: an operator tuning objectives needs to know which rule fires, and
     * the answer to the client is the same 429 whichever it was.
     */
    public enum Refusal {
        /** The prompt work queued ahead would already put its first token past the objective. */
        FORECAST,
        /** No slot free, and the predicted wait for one is past what the objective leaves. */
        QUEUE_WAIT,
        /** No slot free and the queue is full of requests that rank ahead of it. */
        QUEUE_FULL,
        /** Admitted to the queue, then pushed out by a request that ranks ahead. */
        SHED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final Map<String, java.util.concurrent.atomic.AtomicLongArray> refusals = new ConcurrentHashMap<>();

    /** A gateway alone: no other gateway's requests count, the limit is each model's max-in-flight. */
    public AdmissionControl(Iterable<ModelSettings> models, Objectives objectives) {
        this(models, objectives, model -> 0, null, System::nanoTime);
    }

    /**
     * @param remoteInFlight requests of a model in flight from the other gateways, as last published
     * @param limit          the model's cluster-wide limit now; null: its {@code max-in-flight}
     */
    public AdmissionControl(
            Iterable<ModelSettings> models,
            Objectives objectives,
            ToIntFunction<String> remoteInFlight,
            ToIntFunction<String> limit,
            LongSupplier nanoTime) {
        this.objectives = objectives;
        this.remoteInFlight = remoteInFlight;
        this.nanoTime = nanoTime;
        Map<String, Integer> configured = new java.util.HashMap<>();
        for (ModelSettings m : models) {
            configured.put(m.id(), m.maxInFlight());
            gates.put(m.id(), new Gate(m.id(), m.admissionQueue()));
        }
        this.limit = limit != null ? limit : model -> configured.getOrDefault(model, 0);
    }

    /** Refuse what could not meet its class's time-to-first-token objective, as {@code forecast} predicts. */
    public void forecast(TtftForecast forecast) {
        this.forecast = forecast;
    }

    public CompletionStage<Permit> acquire(String model, Workload workload) {
        return acquire(model, workload, 0);
    }

    /**
     * A slot for a request of about {@code promptTokens} tokens. An interactive or batch request
     * whose predicted time to first token (the prompt work queued ahead of it, over the measured
     * prefill rate) is past its class's objective is refused at once, with the time the queued work
     * needs as its Retry-After: admitting it would only lengthen every later request's wait.
     */
    public CompletionStage<Permit> acquire(String model, Workload workload, int promptTokens) {
        return acquire(model, workload, promptTokens, 0);
    }

    /** As {@link #acquire(String, Workload, int)} for a tenant of {@code priority} (higher waits less). */
    public CompletionStage<Permit> acquire(String model, Workload workload, int promptTokens, int priority) {
        Workload w = workload == null ? Workload.INTERACTIVE : workload;
        long objective = objectiveNanos(model, w);
        long waitBudget = objectives.waitFor(w).toNanos();
        if (objective > 0) {
            long predicted = forecast.predictedTtftNanos(model, promptTokens);
            var refusal = pastObjective(model, objective, predicted);
            if (refusal.isPresent()) {
                return CompletableFuture.failedFuture(refusal.get());
            }
            // Time spent queued here comes out of the same objective as the prompt work ahead.
            waitBudget = Math.min(waitBudget, objective - predicted);
        }
        Gate gate = gates.get(model);
        if (gate == null) {
            return CompletableFuture.failedFuture(new FabricException(
                    FabricException.Kind.UNKNOWN_MODEL, "The model '" + model + "' does not exist", "model", 0));
        }
        CompletionStage<Permit> permit = gate.acquire(w, priority, waitBudget);
        // A side effect, not a stage the caller gets: cancelling the caller's future must reach the waiter.
        permit.thenAccept(p -> ((SlotPermit) p).ticket = forecast.admitted(model, promptTokens));
        return permit;
    }

    /**
     * The refusal {@link #acquire} would give at once on the forecast alone, or empty: for a front
     * end that answers 429 without setting up the request's stream (a burst of refusals then costs
     * no stream, actor or placement each). Counted as a forecast refusal when it refuses.
     *
     * @param waitedNanos how long the request was already with the front end: its first token is
     *                    due within the objective counted from its arrival, not from now. Only where
     *                    work is queued ahead: a request that finds none is served at once, and
     *                    refusing it would only make it later still
     */
    public java.util.Optional<FabricException> forecastRefusal(
            String model, Workload workload, int promptTokens, long waitedNanos) {
        Workload w = workload == null ? Workload.INTERACTIVE : workload;
        long objective = objectiveNanos(model, w);
        if (objective <= 0 || !gates.containsKey(model)) {
            return java.util.Optional.empty();
        }
        long predicted = forecast.predictedTtftNanos(model, promptTokens);
        return pastObjective(model, objective, predicted <= 0 ? 0 : Math.max(0, waitedNanos) + predicted);
    }

    /**
     * The class's time-to-first-token objective for one model now: its fixed figure, or the
     * model's unloaded prefill of that many recent prompts when longer. 0: none (a class with no
     * fixed objective has none derived either).
     */
    public long objectiveNanos(String model, Workload workload) {
        long fixed = objectives.ttftFor(workload).toNanos();
        int prefills = objectives.prefillsFor(workload);
        if (fixed <= 0 || prefills <= 0) {
            return fixed;
        }
        long unloaded = forecast.unloadedPromptNanos(model);
        return unloaded <= 0
                ? fixed
                : Math.max(fixed, (long) Math.min(Long.MAX_VALUE / 2.0, (double) unloaded * prefills));
    }

    /** The forecast refusal, counted, when {@code predicted} is past {@code objective}; the Retry-After is the excess. */
    private java.util.Optional<FabricException> pastObjective(String model, long objective, long predicted) {
        if (predicted <= objective) {
            return java.util.Optional.empty();
        }
        refused(model, Refusal.FORECAST);
        return java.util.Optional.of(overloaded(model, predicted - objective));
    }

    /** Requests of one model refused for {@code cause} since this gateway started. */
    public long refusals(String model, Refusal cause) {
        var counts = refusals.get(model);
        return counts == null ? 0 : counts.get(cause.ordinal());
    }

    /** The time to first token the forecast predicts for a request arriving now, in nanoseconds (0: unknown). */
    public long predictedTtftNanos(String model) {
        return forecast.predictedTtftNanos(model, 0);
    }

    /** The forecast's learnt correction for one model (1: first tokens came as predicted). */
    public double forecastSlope(String model) {
        return forecast.slope(model);
    }

    private void refused(String model, Refusal cause) {
        refusals.computeIfAbsent(model, m -> new java.util.concurrent.atomic.AtomicLongArray(Refusal.values().length))
                .incrementAndGet(cause.ordinal());
    }

    /** Requests of one model in flight from this gateway or waiting here. */
    public int pending(String model) {
        Gate gate = gates.get(model);
        return gate == null ? 0 : gate.pending();
    }

    /** Requests of one model in flight from this gateway (what it publishes to the others). */
    public int inFlight(String model) {
        Gate gate = gates.get(model);
        return gate == null ? 0 : gate.inFlight();
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

    /** The cluster's load or limits changed (another gateway's report, a replica's capacity): hand out free slots. */
    public void recheck() {
        gates.values().forEach(Gate::handOver);
    }

    /** A 429 whose Retry-After is {@code waitNanos} rounded up to whole seconds (1 s to 1 h). */
    private static FabricException overloaded(String model, long waitNanos) {
        int retryAfter = (int) Math.max(1, Math.min(3600, (waitNanos + 999_999_999L) / 1_000_000_000L));
        return new FabricException(
                FabricException.Kind.OVERLOADED,
                "Too many requests for model '" + model + "'; retry later",
                null,
                retryAfter);
    }

    private final class Gate {
        private final String model;
        private final int queueSize;
        private final TreeSet<Waiter> interactive = new TreeSet<>(Waiter.ORDER);
        private final TreeSet<Waiter> batch = new TreeSet<>(Waiter.ORDER);
        private long arrivals;
        private final HoldTime holds = new HoldTime();
        private int inFlight;

        Gate(String model, int queueSize) {
            this.model = model;
            this.queueSize = queueSize;
        }

        CompletionStage<Permit> acquire(Workload workload, int priority, long waitBudgetNanos) {
            Waiter shed = null;
            Waiter waiter;
            synchronized (this) {
                waiter = new Waiter(workload, priority, arrivals++);
                int max = limit.applyAsInt(model);
                if (interactive.isEmpty() && (workload == Workload.INTERACTIVE || batch.isEmpty()) && hasRoom(max)) {
                    inFlight++;
                    return CompletableFuture.completedFuture(newPermit());
                }
                int ahead = workload == Workload.INTERACTIVE
                        ? interactive.headSet(waiter).size()
                        : interactive.size() + batch.headSet(waiter).size();
                long waitNanos = holds.predictedWaitNanos(ahead + 1, max);
                if (waitNanos > waitBudgetNanos) {
                    refused(model, Refusal.QUEUE_WAIT);
                    return CompletableFuture.failedFuture(overloaded(waitNanos));
                }
                if (interactive.size() + batch.size() >= queueSize) {
                    if (interactive.isEmpty() && batch.isEmpty()) {
                        refused(model, Refusal.QUEUE_FULL);
                        return CompletableFuture.failedFuture(overloaded(waitNanos)); // no queue at all
                    }
                    Waiter last = batch.isEmpty() ? interactive.last() : batch.last();
                    boolean ranksAhead = workload == Workload.INTERACTIVE && last.workload() == Workload.BATCH
                            || workload == last.workload() && Waiter.ORDER.compare(waiter, last) < 0;
                    if (!ranksAhead) {
                        refused(model, Refusal.QUEUE_FULL);
                        return CompletableFuture.failedFuture(overloaded(waitNanos));
                    }
                    shed = batch.isEmpty() ? interactive.pollLast() : batch.pollLast();
                }
                (workload == Workload.INTERACTIVE ? interactive : batch).add(waiter);
            }
            if (shed != null) {
                refused(model, Refusal.SHED);
                shed.future.completeExceptionally(overloaded(holds.predictedWaitNanos(1, limit.applyAsInt(model))));
            }
            return waiter.future;
        }

        private boolean hasRoom(int max) {
            return inFlight + remoteInFlight.applyAsInt(model) < max;
        }

        synchronized int queued() {
            return interactive.size() + batch.size();
        }

        synchronized int inFlight() {
            return inFlight;
        }

        synchronized int pending() {
            return inFlight + interactive.size() + batch.size();
        }

        private Permit newPermit() {
            return new SlotPermit(this, nanoTime.getAsLong());
        }

        void released(long granted) {
            synchronized (this) {
                inFlight--;
                holds.record(nanoTime.getAsLong() - granted);
            }
            handOver();
        }

        /** Free slots go to the waiters, interactive first. */
        void handOver() {
            while (true) {
                Waiter next;
                synchronized (this) {
                    if (!hasRoom(limit.applyAsInt(model))) {
                        return;
                    }
                    next = interactive.isEmpty() ? batch.pollFirst() : interactive.pollFirst();
                    if (next == null) {
                        return;
                    }
                    inFlight++;
                }
                // A waiter whose caller gave up (cancelled future) passes the slot on.
                Permit permit = newPermit();
                if (!next.future.complete(permit)) {
                    permit.release();
                    return; // release() handed the slot on already
                }
            }
        }

        private FabricException overloaded(long waitNanos) {
            return AdmissionControl.overloaded(model, waitNanos);
        }
    }

    /** A slot of one gate, with the forecast's ticket once admission recorded it. */
    private static final class SlotPermit implements Permit {
        private final Gate gate;
        private final long granted;
        private final java.util.concurrent.atomic.AtomicBoolean released =
                new java.util.concurrent.atomic.AtomicBoolean();
        private volatile TtftForecast.Ticket ticket = TtftForecast.Ticket.NONE;
        private volatile boolean firstTokenSeen;

        SlotPermit(Gate gate, long granted) {
            this.gate = gate;
            this.granted = granted;
        }

        @Override
        public void release() {
            if (released.compareAndSet(false, true)) {
                ticket.ended();
                gate.released(granted);
            }
        }

        @Override
        public void firstToken(int promptTokens) {
            if (!firstTokenSeen) {
                firstTokenSeen = true;
                ticket.firstToken(promptTokens);
            }
        }
    }

    private record Waiter(Workload workload, int priority, long arrival, CompletableFuture<Permit> future) {
        /** Higher priority first, then first come. */
        static final Comparator<Waiter> ORDER =
                Comparator.comparingInt((Waiter w) -> -w.priority()).thenComparingLong(Waiter::arrival);

        Waiter(Workload workload, int priority, long arrival) {
            this(workload, priority, arrival, new CompletableFuture<>());
        }
    }

    /**
     * How long this gateway's requests hold their slot, as an exponentially weighted mean (recent
     * requests count most, so the prediction follows the load's mix). Guarded by its gate.
     */
    private static final class HoldTime {
        /** Weight of the newest sample: about the last 20 requests matter. */
        private static final double ALPHA = 0.05;

        private double meanNanos = -1;

        void record(long nanos) {
            meanNanos = meanNanos < 0 ? nanos : meanNanos + ALPHA * (nanos - meanNanos);
        }

        /** The wait of the k-th waiter with {@code slots} slots; 0 before any request finished (nothing to predict from). */
        long predictedWaitNanos(int k, int slots) {
            if (meanNanos < 0) {
                return 0;
            }
            return (long) (k * meanNanos / Math.max(1, slots));
        }
    }
}
