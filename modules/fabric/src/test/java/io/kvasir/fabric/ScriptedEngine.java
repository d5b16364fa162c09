package io.kvasir.fabric;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.tokenizer.Tokenizer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * TEST DOUBLE: a scripted {@link InferenceEngine} for fabric tests. It generates a fixed cycle of
 * letters (deterministic), sleeps a configurable time per step, and keeps a real block ledger:
 * each live request holds ceil(tokens / blockSize) blocks, aborted and finished requests free
 * theirs, and finished sequences leave their full blocks in a prefix cache (chained hashes), so
 * {@code kvBlocksInUse}, cached-token counts and KV export/import behave like the real engine's.
 * Methods are synchronized so tests may observe it while the engine thread drives it.
 */
final class ScriptedEngine implements InferenceEngine {

    private static final String SCRIPT = "the quick brown fox jumps over the lazy dog ";

    private final Tokenizer tokenizer = new ByteTokenizer();
    private final int maxContext;
    private final int blockSize;
    private final int totalBlocks;
    private final Duration stepDelay;
    private final Map<String, Seq> live = new LinkedHashMap<>();
    private final Set<Long> cachedBlocks = new HashSet<>();
    private final Set<String> everPaused = new HashSet<>();
    private final List<EngineRequest> added = new ArrayList<>();
    private int blocksInUse;
    private int imported;
    private long generatedTotal;
    private long prefixQueries;
    private long prefixHits;
    private boolean closed;
    private int crashAfter = -1;

    private static final class Seq {
        final EngineRequest request;
        final int cached;
        int generated;
        int blocks;
        boolean paused;
        boolean aborted;

        Seq(EngineRequest request, int cached) {
            this.request = request;
            this.cached = cached;
        }

        int tokens() {
            return request.promptTokens().length + generated;
        }
    }

    /** What a request with this prompt length generates, in full. */
    static String expectedText(int promptLength, int tokens) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < tokens; i++) {
            out.append(SCRIPT.charAt((promptLength + i) % SCRIPT.length()));
        }
        return out.toString();
    }

    ScriptedEngine(int maxContext, int blockSize, int totalBlocks, Duration stepDelay) {
        this.maxContext = maxContext;
        this.blockSize = blockSize;
        this.totalBlocks = totalBlocks;
        this.stepDelay = stepDelay;
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int maxContext() {
        return maxContext;
    }

    @Override
    public synchronized void addRequest(EngineRequest request) {
        if (request.promptTokens().length + request.maxTokens() > maxContext) {
            throw new IllegalArgumentException("prompt + max tokens over the context of " + maxContext);
        }
        if (live.containsKey(request.id())) {
            throw new IllegalArgumentException("duplicate request id " + request.id());
        }
        added.add(request);
        Seq seq = new Seq(request, cachedPrefixLength(request.promptTokens(), request.cacheScope()));
        prefixQueries += request.promptTokens().length;
        prefixHits += seq.cached;
        seq.blocks = blocksFor(seq.tokens());
        blocksInUse += seq.blocks;
        live.put(request.id(), seq);
    }

    @Override
    public synchronized void abort(String requestId) {
        Seq seq = live.get(requestId);
        if (seq != null && !seq.aborted) {
            seq.aborted = true;
            blocksInUse -= seq.blocks;
            seq.blocks = 0;
        }
    }

    @Override
    public synchronized void setPaused(String requestId, boolean paused) {
        Seq seq = live.get(requestId);
        if (seq != null) {
            seq.paused = paused;
            if (paused) {
                everPaused.add(requestId);
            }
        }
    }

    @Override
    public synchronized boolean hasWork() {
        return !live.isEmpty();
    }

    /** The next step in which any request has generated {@code tokens} tokens throws. */
    synchronized void armCrash(int tokens) {
        crashAfter = tokens;
    }

    /** Set while steps are held: a stuck engine thread, as a test makes one. */
    private volatile java.util.concurrent.CountDownLatch stall;

    /** From now on every step blocks (outside the engine's lock) until {@link #releaseSteps}. */
    void stallSteps() {
        stall = new java.util.concurrent.CountDownLatch(1);
    }

    void releaseSteps() {
        java.util.concurrent.CountDownLatch held = stall;
        stall = null;
        if (held != null) {
            held.countDown();
        }
    }

    @Override
    public List<TokenEvent> step() {
        java.util.concurrent.CountDownLatch held = stall;
        if (held != null) {
            try {
                held.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        sleep();
        synchronized (this) {
            if (crashAfter >= 0 && live.values().stream().anyMatch(s -> s.generated >= crashAfter)) {
                throw new IllegalStateException("scripted engine crash");
            }
            List<TokenEvent> events = new ArrayList<>();
            for (var it = live.values().iterator(); it.hasNext(); ) {
                Seq seq = it.next();
                int prompt = seq.request.promptTokens().length;
                if (seq.aborted) {
                    events.add(finalEvent(seq, FinishReason.ABORT));
                    it.remove();
                } else if (seq.request.maxTokens() == 0) {
                    finish(seq);
                    events.add(finalEvent(seq, FinishReason.LENGTH));
                    it.remove();
                } else if (!seq.paused) {
                    int token = SCRIPT.charAt((seq.generated + prompt) % SCRIPT.length());
                    seq.generated++;
                    generatedTotal++;
                    int need = blocksFor(seq.tokens());
                    blocksInUse += need - seq.blocks;
                    seq.blocks = need;
                    boolean done = seq.generated >= seq.request.maxTokens();
                    if (done) {
                        finish(seq);
                        it.remove();
                    }
                    events.add(new TokenEvent(
                            seq.request.id(),
                            token,
                            String.valueOf((char) token),
                            -0.5f,
                            List.of(),
                            done ? FinishReason.LENGTH : null,
                            prompt,
                            seq.cached,
                            seq.generated));
                }
            }
            return events;
        }
    }

    @Override
    public synchronized EngineStats stats() {
        int paused = (int) live.values().stream().filter(s -> s.paused).count();
        return new EngineStats(
                live.size() - paused,
                0,
                paused,
                totalBlocks,
                blocksInUse,
                prefixQueries,
                prefixHits,
                0,
                0,
                generatedTotal,
                0,
                totalBlocks - blocksInUse,
                0,
                0,
                0,
                0,
                0);
    }

    @Override
    public synchronized int cachedPrefixLength(int[] promptTokens, String cacheScope) {
        int full = 0;
        long hash = 17;
        while ((full + 1) * blockSize <= promptTokens.length) {
            hash = chain(hash, promptTokens, full);
            if (!cachedBlocks.contains(hash)) {
                break;
            }
            full++;
        }
        // The last prompt token is always computed, so its logits exist.
        return Math.min(full * blockSize, ((promptTokens.length - 1) / blockSize) * blockSize);
    }

    @Override
    public synchronized KvTransfer exportPrefix(int[] tokens, String cacheScope) {
        int full = 0;
        long hash = 17;
        while ((full + 1) * blockSize <= tokens.length) {
            hash = chain(hash, tokens, full);
            if (!cachedBlocks.contains(hash)) {
                break;
            }
            full++;
        }
        byte[][] blocks = new byte[full][];
        for (int b = 0; b < full; b++) {
            ByteBuffer buf = ByteBuffer.allocate(blockSize * 4);
            for (int i = 0; i < blockSize; i++) {
                buf.putInt(tokens[b * blockSize + i]);
            }
            blocks[b] = buf.array();
        }
        return new KvTransfer(blockSize, Arrays.copyOf(tokens, full * blockSize), blocks, cacheScope);
    }

    @Override
    public synchronized int importPrefix(KvTransfer transfer) {
        if (transfer.blockSize() != blockSize) {
            throw new IllegalArgumentException("block size " + transfer.blockSize() + " != " + blockSize);
        }
        long hash = 17;
        for (int b = 0; b < transfer.blocks().length; b++) {
            ByteBuffer buf = ByteBuffer.wrap(transfer.blocks()[b]);
            for (int i = 0; i < blockSize; i++) {
                if (buf.getInt() != transfer.tokens()[b * blockSize + i]) {
                    throw new IllegalArgumentException("block " + b + " does not hold the tokens it claims");
                }
            }
            hash = chain(hash, transfer.tokens(), b);
            cachedBlocks.add(hash);
        }
        imported += transfer.coveredTokens();
        return transfer.coveredTokens();
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    /** Whether an engine request id is a run of the fabric turn {@code requestId} (runs are {@code <turn>#<n>}). */
    static boolean ofTurn(String engineId, String requestId) {
        return engineId.equals(requestId) || engineId.startsWith(requestId + "#");
    }

    synchronized boolean wasPaused(String requestId) {
        return everPaused.stream().anyMatch(id -> ofTurn(id, requestId));
    }

    /** The most tokens any live request has generated so far, or -1 when none is live. */
    synchronized int mostGeneratedLive() {
        return live.values().stream().mapToInt(seq -> seq.generated).max().orElse(-1);
    }

    /** Tokens generated so far by the live run of the turn, or -1 when none is live. */
    synchronized int generated(String requestId) {
        return live.entrySet().stream()
                .filter(e -> ofTurn(e.getKey(), requestId))
                .mapToInt(e -> e.getValue().generated)
                .findFirst()
                .orElse(-1);
    }

    synchronized List<EngineRequest> added() {
        return List.copyOf(added);
    }

    synchronized int importedTokens() {
        return imported;
    }

    synchronized int blocksInUse() {
        return blocksInUse;
    }

    synchronized boolean closed() {
        return closed;
    }

    private void finish(Seq seq) {
        int[] all = Arrays.copyOf(seq.request.promptTokens(), seq.tokens());
        // Generated ids are not kept; only the prompt's full blocks enter the prefix cache.
        long hash = 17;
        for (int b = 0; (b + 1) * blockSize <= seq.request.promptTokens().length; b++) {
            hash = chain(hash, all, b);
            cachedBlocks.add(hash);
        }
        blocksInUse -= seq.blocks;
        seq.blocks = 0;
    }

    private TokenEvent finalEvent(Seq seq, FinishReason reason) {
        return new TokenEvent(
                seq.request.id(),
                -1,
                "",
                Float.NaN,
                List.of(),
                reason,
                seq.request.promptTokens().length,
                seq.cached,
                seq.generated);
    }

    private long chain(long parent, int[] tokens, int block) {
        long h = parent;
        for (int i = block * blockSize; i < (block + 1) * blockSize; i++) {
            h = h * 1_000_003L + tokens[i];
        }
        return h;
    }

    private int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    private void sleep() {
        if (stepDelay.isZero()) {
            return;
        }
        try {
            Thread.sleep(stepDelay);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
