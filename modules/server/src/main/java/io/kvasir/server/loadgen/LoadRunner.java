package io.kvasir.server.loadgen;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;

/**
 * Drives the load for each level of a {@link LoadSpec}. Work is counted in sessions: a session is
 * {@code turns} requests sent one after another, each resending the conversation so far. With one
 * turn a session is one request.
 *
 * <p>Closed loop: {@code c} workers each run a session, then the next, until the level's sessions
 * are used up. Open loop: sessions start at Poisson arrival times at the given rate, however many
 * are still running.
 */
public final class LoadRunner {

    /** What one level produced. */
    public record LevelRun(LoadSpec.Level level, List<RequestResult> results, double durationSeconds) {}

    private static final long SHARED_PREFIX_SEED = 0x5eed;
    private static final long WARM_UP_SESSIONS = 1L << 40;

    private final LoadSpec spec;
    private final PrintStream progressOut;
    private final String runId = Long.toHexString(System.currentTimeMillis());
    private final String sharedPrefix;
    // Counted across levels so that no two sessions of a run share a number (and so a label).
    private final AtomicLong sessionCounter = new AtomicLong();
    private final AnswerLog answers = new AnswerLog();
    private final boolean openConnectionsFirst;
    private final ClientKind clientKind;

    public LoadRunner(LoadSpec spec, PrintStream progressOut) {
        this(spec, progressOut, true);
    }

    /**
     * @param openConnectionsFirst whether each level opens its client's connections before its
     *     clock starts (see {@link #openConnections})
     */
    public LoadRunner(LoadSpec spec, PrintStream progressOut, boolean openConnectionsFirst) {
        this(spec, progressOut, openConnectionsFirst, ClientKind.OKHTTP);
    }

    /** @param clientKind what sends the requests ({@code --client}) */
    public LoadRunner(LoadSpec spec, PrintStream progressOut, boolean openConnectionsFirst, ClientKind clientKind) {
        this.clientKind = clientKind;
        this.spec = spec;
        this.progressOut = progressOut;
        this.openConnectionsFirst = openConnectionsFirst;
        this.sharedPrefix = spec.sharedPrefixTokens() == 0
                ? null
                : PromptText.generate(
                        "You are a helpful assistant. Background notes follow.",
                        spec.sharedPrefixTokens(),
                        SHARED_PREFIX_SEED);
    }

    /** The completed answers of the measured levels (warm-up excluded), by session and turn. */
    AnswerLog answers() {
        return answers;
    }

    public List<LevelRun> runAll() {
        List<LevelRun> runs = new ArrayList<>();
        for (LoadSpec.Level level : spec.levels()) {
            runs.add(run(level));
        }
        return runs;
    }

    /**
     * Sends {@code requests} single-turn requests one after another and forgets their results: the
     * server's first requests pay for its JIT compilation and cold caches, which would otherwise
     * land in the first level's tail latencies. Returns how many completed.
     */
    public int warmUp(int requests) {
        if (requests <= 0) {
            return 0;
        }
        Queue<RequestResult> results = new ConcurrentLinkedQueue<>();
        ProgressBar progress = new ProgressBar(progressOut, "warm-up", requests);
        OkHttpClient client = RequestDriver.client(spec.timeout(), 1);
        try (RequestDriver driver = new RequestDriver(client, spec.url(), spec.model(), spec.apiKey(), clientKind)) {
            // Session numbers of their own: the measured sessions keep their sizes and seeds, and no
            // warm-up conversation shares a session id (and so a cached prefix) with a measured one.
            for (int i = 0; i < requests; i++) {
                runSession(WARM_UP_SESSIONS + i, 1, driver, results, progress);
            }
        } finally {
            RequestDriver.close(client);
            progress.finish();
        }
        return (int) results.stream().filter(RequestResult::ok).count();
    }

    public LevelRun run(LoadSpec.Level level) {
        int sessions = (spec.requests() + spec.turns() - 1) / spec.turns();
        Queue<RequestResult> results = new ConcurrentLinkedQueue<>();
        ProgressBar progress = new ProgressBar(progressOut, "bench serve " + level.label(), spec.requests());
        OkHttpClient client = RequestDriver.client(spec.timeout(), level);
        long start;
        try (RequestDriver driver = new RequestDriver(client, spec.url(), spec.model(), spec.apiKey(), clientKind)) {
            if (openConnectionsFirst) {
                openConnections(RequestDriver.connections(level), driver);
            }
            start = System.nanoTime();
            if (level.open()) {
                runOpen(level.rate(), sessions, driver, results, progress);
            } else {
                runClosed(level.concurrency(), sessions, driver, results, progress);
            }
        } finally {
            RequestDriver.close(client);
            progress.finish();
        }
        double duration = (System.nanoTime() - start) / 1e9;
        return new LevelRun(level, List.copyOf(results), duration);
    }

    /**
     * Opens {@code connections} connections at once (each a model-list request, answered and kept
     * in the pool) before a level's clock starts. A client that has served for a while holds its
     * connections open; one that connects at the level's start measures, in every first request,
     * its own and the server's cost of setting up hundreds of connections at once: at 240 streams
     * on two cores shared with the server, that was most of a refusal's time at the client (p50
     * about 1 s, against 10 ms at the server). {@code bench serve --cold-connections} measures it.
     */
    private void openConnections(int connections, RequestDriver driver) {
        AtomicInteger opened = new AtomicInteger();
        java.util.concurrent.CountDownLatch allAnswered = new java.util.concurrent.CountDownLatch(connections);
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < connections; i++) {
                workers.submit(() -> {
                    if (driver.openConnection(allAnswered)) {
                        opened.incrementAndGet();
                    }
                });
            }
        }
        if (opened.get() < connections) {
            progressOut.println("opened " + opened.get() + " of " + connections + " connections before the level");
        }
    }

    private void runClosed(
            int concurrency, int sessions, RequestDriver driver, Queue<RequestResult> results, ProgressBar progress) {
        AtomicInteger next = new AtomicInteger();
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < concurrency; w++) {
                workers.submit(() -> {
                    int s;
                    while ((s = next.getAndIncrement()) < sessions) {
                        runSession(turnsOf(s), driver, results, progress);
                    }
                });
            }
        }
    }

    private void runOpen(
            double rate, int sessions, RequestDriver driver, Queue<RequestResult> results, ProgressBar progress) {
        SplittableRandom arrivals = new SplittableRandom(spec.seed() ^ Double.doubleToLongBits(rate));
        long start = System.nanoTime();
        double at = 0;
        try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int s = 0; s < sessions; s++) {
                long wait = start + (long) (at * 1e9) - System.nanoTime();
                if (wait > 0) {
                    try {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while pacing requests", e);
                    }
                }
                int turns = turnsOf(s);
                workers.submit(() -> runSession(turns, driver, results, progress));
                // Exponential gaps between arrivals make a Poisson process.
                at += -Math.log(1 - arrivals.nextDouble()) / rate;
            }
        }
    }

    private int turnsOf(int session) {
        return Math.min(spec.turns(), spec.requests() - session * spec.turns());
    }

    private void runSession(int turns, RequestDriver driver, Queue<RequestResult> results, ProgressBar progress) {
        runSession(sessionCounter.getAndIncrement(), turns, driver, results, progress);
    }

    private void runSession(
            long session, int turns, RequestDriver driver, Queue<RequestResult> results, ProgressBar progress) {
        SplittableRandom random = new SplittableRandom(spec.seed() * 31 + session);
        // One id for all turns of a conversation, so a cache-aware router can keep its follow-ups on
        // the replica that holds its prefix without hashing the messages.
        String sessionId = spec.routing().sessionHeader() ? "bench-" + runId + "-" + session : null;
        Workload workload = spec.routing().workload().choose(spec.seed(), session);
        List<RequestDriver.Message> conversation = new ArrayList<>();
        int promptEstimate = 0;
        if (sharedPrefix != null) {
            conversation.add(new RequestDriver.Message("system", sharedPrefix));
            promptEstimate += spec.sharedPrefixTokens();
        }
        for (int turn = 1; turn <= turns; turn++) {
            int promptTokens = spec.promptTokens().sample(random);
            int outputTokens = spec.outputTokens().sample(random);
            // The label depends only on the session and turn, never on the order requests went out in,
            // so a second run of the same seed sends the same prompts (see AnswerLog).
            String label = "Request " + (session + 1) + (turns > 1 ? "." + turn : "") + ":";
            conversation.add(
                    new RequestDriver.Message("user", PromptText.generate(label, promptTokens, random.nextLong())));
            promptEstimate += promptTokens;
            RequestResult r =
                    driver.send(List.copyOf(conversation), outputTokens, sessionId, workload, turn, promptEstimate);
            results.add(r);
            progress.completed(r);
            if (r.ok() && session < WARM_UP_SESSIONS) {
                answers.record(session, turn, r.text());
            }
            if (!r.ok()) {
                // The conversation cannot go on without the answer it was waiting for.
                progress.skipped(turns - turn);
                return;
            }
            conversation.add(new RequestDriver.Message("assistant", r.text()));
            promptEstimate += r.outputTokens();
        }
    }
}
