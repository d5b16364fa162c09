package io.kvasir.engine.core;

import java.util.List;
import java.util.Set;

/** Checks of what callers hand the engine, each failure an IllegalArgumentException naming the problem. */
final class RequestValidation {

    private RequestValidation() {}

    /** The request with null stop lists made empty, or an exception for one that can never run. */
    static EngineRequest normalize(EngineRequest r, int vocabSize, int maxContext, int blockSize, int numBlocks) {
        if (r == null) {
            throw new IllegalArgumentException("request is null");
        }
        if (r.id() == null || r.id().isEmpty()) {
            throw new IllegalArgumentException("request id is required");
        }
        int[] prompt = r.promptTokens();
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("request " + r.id() + " has an empty prompt");
        }
        checkTokens(prompt, vocabSize, "prompt of request " + r.id());
        if (r.maxTokens() < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, got " + r.maxTokens());
        }
        // Generating needs one position after the prompt; prefill only does not.
        int limit = r.maxTokens() == 0 ? maxContext : maxContext - 1;
        if (prompt.length > limit) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit the context of "
                    + maxContext + (r.maxTokens() == 0 ? "" : " (one position is kept for the answer)"));
        }
        int blocks = (prompt.length + blockSize - 1) / blockSize;
        if (blocks > numBlocks) {
            throw new IllegalArgumentException(
                    "prompt of " + prompt.length + " tokens needs " + blocks + " KV blocks; the pool has " + numBlocks);
        }
        List<String> stop = r.stop() == null ? List.of() : List.copyOf(r.stop());
        for (String s : stop) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        // The edge checks logit_bias's form; only here is the vocabulary known. A bias on an id the
        // model does not have would silently do nothing, which is an answer the client did not ask for.
        for (Integer id : r.sampling().logitBias().keySet()) {
            if (id < 0 || id >= vocabSize) {
                throw new InvalidRequestField(
                        "logit_bias",
                        "logit_bias names token " + id + ", outside the model's vocabulary of " + vocabSize
                                + " tokens");
            }
        }
        Set<Integer> stopIds = r.stopTokenIds() == null ? Set.of() : Set.copyOf(r.stopTokenIds());
        if (r.resumedTokens() < 0 || r.resumedTokens() > prompt.length) {
            throw new IllegalArgumentException(
                    "resumedTokens must be in [0, " + prompt.length + "], got " + r.resumedTokens());
        }
        return new EngineRequest(
                r.id(),
                prompt.clone(),
                r.sampling(),
                r.maxTokens(),
                stop,
                stopIds,
                r.ignoreEos(),
                r.priority(),
                r.cacheScope(),
                r.responseFormat(),
                r.resumedTokens(),
                r.promptScoring());
    }

    static void checkTransfer(KvTransfer t, int blockSize, int blockBytes, int vocabSize) {
        if (t.blockSize() != blockSize) {
            throw new IllegalArgumentException(
                    "transfer has blocks of " + t.blockSize() + " tokens, this pool " + blockSize);
        }
        if (t.tokens().length != t.blocks().length * blockSize) {
            throw new IllegalArgumentException("transfer of " + t.blocks().length + " blocks covers "
                    + t.tokens().length + " tokens, expected " + t.blocks().length * blockSize);
        }
        for (byte[] b : t.blocks()) {
            if (b == null || b.length != blockBytes) {
                throw new IllegalArgumentException("transfer block of " + (b == null ? "no" : b.length)
                        + " bytes, this storage takes " + blockBytes);
            }
        }
        checkTokens(t.tokens(), vocabSize, "transfer");
    }

    private static void checkTokens(int[] tokens, int vocabSize, String what) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabSize) {
                throw new IllegalArgumentException(
                        what + ": token " + tokens[i] + " at " + i + " is outside the vocabulary of " + vocabSize);
            }
        }
    }
}
