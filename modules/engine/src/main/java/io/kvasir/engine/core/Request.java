package io.kvasir.engine.core;

import io.kvasir.engine.kv.BlockHash;
import io.kvasir.engine.sampling.Sampler;
import io.kvasir.engine.sampling.TokenConstraint;
import io.kvasir.engine.sampling.Workspace;
import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The engine's state of one request: its tokens (prompt, then output), how many of them have KV
 * computed, and its sampler and output text. The token ledger is the whole schedule: a request
 * needs {@code numTokens() - numComputedTokens()} more tokens computed before it can sample, be it
 * a prompt, a prompt's next chunk, the one new token of a decode, or everything again after a
 * preemption.
 */
public final class Request {

    /** Scheduling order: lower priority value first, then earlier arrival. Preemption takes the last. */
    static final Comparator<Request> ORDER =
            Comparator.comparingInt((Request r) -> r.spec.priority()).thenComparingLong(r -> r.arrival);

    private final EngineRequest spec;
    /** Where the request's block hashes start: its cache scope's root, computed once. */
    private final BlockHash cacheRoot;

    private final long arrival;
    private final Sampler sampler;
    /** The response format's automaton, or null for free-form output. */
    private final TokenConstraint constraint;

    private final StopStrings output;
    /** What the request computes over its prompt, or null when it asks nothing of it. */
    private final PromptScores scores;

    private int[] tokens;
    private int numTokens;
    private int numComputedTokens;
    private int numCachedTokens = -1; // prompt tokens found in the prefix cache at the first start
    private RequestStatus status = RequestStatus.WAITING;
    private boolean paused;

    Request(EngineRequest spec, long arrival, int vocabSize, Tokenizer tokenizer, Workspace workspace) {
        this(spec, arrival, vocabSize, tokenizer, workspace, null);
    }

    Request(
            EngineRequest spec,
            long arrival,
            int vocabSize,
            Tokenizer tokenizer,
            Workspace workspace,
            TokenConstraint constraint) {
        this.spec = spec;
        this.cacheRoot = BlockHash.root(spec.cacheScope());
        this.arrival = arrival;
        this.constraint = constraint;
        this.sampler = new Sampler(spec.sampling(), vocabSize, spec.promptTokens(), workspace, constraint);
        this.output = new StopStrings(tokenizer, spec.stop());
        this.scores = spec.scoresPrompt() ? new PromptScores(spec.promptScoring(), spec.promptTokens()) : null;
        int prompt = spec.promptTokens().length;
        // A resumed turn's output so far went through another replica's detokenizer, which may
        // have held back bytes of an unfinished character (or text that could begin a stop string)
        // and never sent them. Replaying those tokens puts this one in the same state, so the seam
        // neither drops that text nor turns the character's remaining bytes into U+FFFD.
        for (int i = prompt - spec.resumedTokens(); i < prompt && !output.stopped(); i++) {
            output.push(spec.promptTokens()[i]);
        }
        this.tokens = Arrays.copyOf(spec.promptTokens(), prompt + Math.min(Math.max(spec.maxTokens(), 1), 4096));
        this.numTokens = prompt;
    }

    public String id() {
        return spec.id();
    }

    public EngineRequest spec() {
        return spec;
    }

    /** The root of the request's cache scope (null: shared), for every prefix-cache lookup and insert. */
    BlockHash cacheRoot() {
        return cacheRoot;
    }

    public int priority() {
        return spec.priority();
    }

    public long arrival() {
        return arrival;
    }

    /** Token ids, prompt then output; valid up to {@link #numTokens()}. Do not modify. */
    int[] tokens() {
        return tokens;
    }

    public int numTokens() {
        return numTokens;
    }

    public int numPromptTokens() {
        return spec.promptTokens().length;
    }

    public int numOutputTokens() {
        return numTokens - numPromptTokens();
    }

    public int numComputedTokens() {
        return numComputedTokens;
    }

    /** Prompt tokens whose KV came from the prefix cache when the request first started. */
    public int numCachedTokens() {
        return Math.max(numCachedTokens, 0);
    }

    public RequestStatus status() {
        return status;
    }

    public boolean paused() {
        return paused;
    }

    void setPaused(boolean paused) {
        this.paused = paused;
    }

    void setStatus(RequestStatus status) {
        this.status = status;
    }

    Sampler sampler() {
        return sampler;
    }

    /** The response format's automaton, or null. */
    TokenConstraint constraint() {
        return constraint;
    }

    /** The prompt's scores as they are computed, or null when none were asked for. */
    PromptScores scores() {
        return scores;
    }

    StopStrings output() {
        return output;
    }

    /** The request starts (again) from {@code cachedTokens} computed by others. */
    void start(int cachedTokens) {
        numComputedTokens = cachedTokens;
        if (numCachedTokens < 0) {
            numCachedTokens = Math.min(cachedTokens, numPromptTokens());
        }
        status = RequestStatus.RUNNING;
    }

    void addComputed(int n) {
        if (numComputedTokens + n > numTokens) {
            throw new IllegalStateException(
                    id() + ": computed " + (numComputedTokens + n) + " of " + numTokens + " tokens");
        }
        numComputedTokens += n;
    }

    /** Preempted: its blocks are gone, so everything is computed again when it restarts. */
    void preempted() {
        numComputedTokens = 0;
        status = RequestStatus.WAITING;
    }

    void appendToken(int token) {
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[numTokens++] = token;
    }

    @Override
    public String toString() {
        return "Request[" + id() + ", " + status + ", " + numComputedTokens + "/" + numTokens
                + (paused ? ", paused" : "") + "]";
    }
}
