package io.kvasir.fabric.gateway;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Predicts a new request's time to first token from the prompt work queued ahead of it: the decode
 * replicas' queued prefill tokens (as published), plus what this gateway admitted since (not in
 * those reports yet, estimated from prompt lengths), plus its own prompt, over the replicas'
 * measured prefill throughput. A burst of admissions is what makes time to first token explode
 * under overload (each admitted prompt waits for every prompt admitted before it), so this, not
 * the number of requests in flight, is what keeps admitted requests inside their objective.
 * Each admitted request reports its first token back, and a {@link TtftCalibration} per model
 * corrects the estimate by what was measured.
 */
public final class PrefillBacklog implements AdmissionControl.TtftForecast {

    /**
     * A prompt this gateway admitted, counted as work ahead in the window before the replicas'
     * reports include it, until its first token (or its end) settles it: a prompt that has been
     * prefilled is ahead of nobody, whatever the window says. Measured without the settling, 8
     * streams whose 8 prompts arrived together: the next prompts were forecast behind all 8 (967
     * tokens "unreported" where 486 still awaited a first token), 1.8 s raw, and refused against
     * the 2 s objective; their first tokens, where admitted, came in 0.5-0.8 s.
     */
    private static final class Admitted {
        final long at;
        final int tokens;
        volatile boolean settled;

        Admitted(long at, int tokens) {
            this.at = at;
            this.tokens = tokens;
        }
    }

    private final ReplicaView view;
    private final long unreportedNanos;
    private final LongSupplier nanoTime;
    private final Map<String, ArrayDeque<Admitted>> recent = new ConcurrentHashMap<>();
    private final Map<String, TtftCalibration> calibrations = new ConcurrentHashMap<>();
    /** Per model, what an unloaded prompt costs: recent prompt lengths and the best replica rate seen. */
    private final Map<String, UnloadedPrompt> unloaded = new ConcurrentHashMap<>();
    /** Per model, prompt tokens this gateway admitted that have not yet produced a first token. */
    private final Map<String, java.util.concurrent.atomic.AtomicLong> awaiting = new ConcurrentHashMap<>();

    /** @param publishInterval how often replicas report: admissions older than two intervals are in their reports */
    public PrefillBacklog(ReplicaView view, Duration publishInterval, LongSupplier nanoTime) {
        this.view = view;
        this.unreportedNanos = 2 * publishInterval.toNanos();
        this.nanoTime = nanoTime;
    }

    /**
     * How long a new request would wait behind the prompt work ahead of it, or 0 when no rate is
     * known. Its own prompt is not held against it: a long prompt on an idle cluster takes long to
     * prefill wherever it goes, and refusing it would only send it back forever; and a prompt the
     * replicas have cached costs little, which the gateway cannot tell from here.
     */
    @Override
    public long predictedTtftNanos(String model, int promptTokens) {
        return calibration(model).calibrated(rawNanos(model, 0));
    }

    /** Prompt tokens per second the model's decode replicas published, together: what queued work is divided by. */
    public static double prefillRate(ReplicaView view, String model) {
        return decodeLoads(view, model)
                .mapToDouble(ReplicaLoad::prefillTokensPerSecond)
                .sum();
    }

    /** What the model's decode replicas last published (prompts queue, and are counted, there). */
    private static java.util.stream.Stream<ReplicaLoad> decodeLoads(ReplicaView view, String model) {
        return view.replicas(model).stream()
                .filter(replica -> replica.pool().equals(ModelSettings.DECODE))
                .map(ReplicaProtocol.LoadReport::load);
    }

    /** The uncorrected forecast: the tokens ahead over the measured rate. */
    long rawNanos(String model, int promptTokens) {
        double rate = prefillRate(view, model);
        if (rate <= 0) {
            return 0;
        }
        long queued = decodeLoads(view, model)
                .mapToLong(ReplicaLoad::queuedPrefillTokens)
                .sum();
        // Requests this gateway admitted are ahead of a new one until their first token, however
        // long that takes: in a burst they can sit in placement or on the replica's queue before any
        // report counts them, after the two-interval window of "unreported" has let go of them.
        // Measured: 26 admitted into a 2 s objective at 240 streams, with first tokens at 3.5-5.1 s.
        long ahead = Math.max(queued + unreported(model), awaiting(model).get());
        long pending = ahead + calibration(model).tokens(promptTokens);
        return (long) (pending / rate * 1e9);
    }

    /** A request of about {@code promptTokens} (estimated) was admitted now. */
    @Override
    public Ticket admitted(String model, int promptTokens) {
        long raw = rawNanos(model, promptTokens);
        long at = nanoTime.getAsLong();
        TtftCalibration calibration = calibration(model);
        ArrayDeque<Admitted> list = recent.computeIfAbsent(model, m -> new ArrayDeque<>());
        int tokens = calibration.tokens(promptTokens);
        Admitted entry = new Admitted(at, tokens);
        synchronized (list) {
            list.add(entry);
        }
        java.util.concurrent.atomic.AtomicLong waiting = awaiting(model);
        waiting.addAndGet(tokens);
        unloaded(model).admitted(tokens);
        return new AdmissionControl.TtftForecast.Ticket() {
            /** Still counted as work ahead: settled once, by the first token or the end. */
            private final java.util.concurrent.atomic.AtomicBoolean ahead =
                    new java.util.concurrent.atomic.AtomicBoolean(true);

            @Override
            public void firstToken(int counted) {
                settle();
                calibration.observe(raw, nanoTime.getAsLong() - at, promptTokens, counted);
            }

            @Override
            public void ended() {
                settle(); // a request that failed or was cancelled before its first token
            }

            private void settle() {
                if (ahead.compareAndSet(true, false)) {
                    waiting.addAndGet(-tokens);
                    entry.settled = true;
                }
            }
        };
    }

    private java.util.concurrent.atomic.AtomicLong awaiting(String model) {
        return awaiting.computeIfAbsent(model, m -> new java.util.concurrent.atomic.AtomicLong());
    }

    @Override
    public long unloadedPromptNanos(String model) {
        double best = decodeLoads(view, model)
                .mapToDouble(ReplicaLoad::prefillTokensPerSecond)
                .max()
                .orElse(0);
        return unloaded(model).nanos(best);
    }

    private UnloadedPrompt unloaded(String model) {
        return unloaded.computeIfAbsent(model, m -> new UnloadedPrompt());
    }

    /**
     * One model's typical prompt on an idle replica: the mean length of recently admitted prompts
     * (as the calibrated estimate counts them) over the best rate one replica has published. The
     * best, not the latest: under overload the published rate falls, and an objective derived from
     * it would grow and admit more exactly when fewer should be.
     */
    private static final class UnloadedPrompt {
        /** Weight of the newest prompt in the mean: about the last 20 count. */
        private static final double ALPHA = 0.05;

        private double meanTokens;
        private double bestRate;

        synchronized void admitted(int tokens) {
            meanTokens = meanTokens == 0 ? tokens : meanTokens + ALPHA * (tokens - meanTokens);
        }

        synchronized long nanos(double replicaRate) {
            bestRate = Math.max(bestRate, replicaRate);
            return bestRate <= 0 || meanTokens <= 0 ? 0 : (long) (meanTokens / bestRate * 1e9);
        }
    }

    @Override
    public double slope(String model) {
        return calibration(model).slope();
    }

    TtftCalibration calibration(String model) {
        return calibrations.computeIfAbsent(model, m -> new TtftCalibration(nanoTime));
    }

    private long unreported(String model) {
        ArrayDeque<Admitted> list = recent.get(model);
        if (list == null) {
            return 0;
        }
        long now = nanoTime.getAsLong();
        long sum = 0;
        synchronized (list) {
            while (!list.isEmpty() && now - list.peekFirst().at >= unreportedNanos) {
                list.pollFirst();
            }
            for (Admitted a : list) {
                if (!a.settled) {
                    sum += a.tokens;
                }
            }
        }
        return sum;
    }

    /** A prompt's length in tokens, estimated from its text (about four characters a token). */
    public static int estimateTokens(io.kvasir.fabric.api.GenerationRequest request) {
        long chars = 0;
        if (request.isChat()) {
            for (var m : request.messages()) {
                chars += m.content().length() + 8; // a few tokens of template around each message
            }
        } else if (request.prompt() != null) {
            chars = request.prompt().length();
        } else if (request.promptOptions() != null && request.promptOptions().tokenIds() != null) {
            return Math.max(1, request.promptOptions().tokenIds().length); // counted, not estimated
        }
        return (int) Math.min(Integer.MAX_VALUE, chars / 4 + 1);
    }
}
