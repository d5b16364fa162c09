package io.kvasir.engine.grammar;

import io.kvasir.engine.sampling.TokenConstraint;

/** One request's place in a {@link TokenGrammar}: the automaton state after the tokens so far. */
public final class JsonConstraint implements TokenConstraint {

    private final TokenGrammar grammar;
    private JsonState state;

    JsonConstraint(TokenGrammar grammar, JsonState state) {
        this.grammar = grammar;
        this.state = state;
    }

    @Override
    public void mask(float[] logits) {
        long[] bits = grammar.allowed(state);
        int n = Math.min(logits.length, grammar.vocab().vocabSize);
        for (int w = 0; w < bits.length; w++) {
            long word = bits[w];
            if (word == -1L) {
                continue;
            }
            int base = w << 6;
            long banned = ~word;
            while (banned != 0) {
                int id = base + Long.numberOfTrailingZeros(banned);
                if (id >= n) {
                    break;
                }
                logits[id] = Float.NEGATIVE_INFINITY;
                banned &= banned - 1;
            }
        }
        for (int id = n; id < logits.length; id++) {
            logits[id] = Float.NEGATIVE_INFINITY; // padded output rows beyond the vocabulary
        }
    }

    @Override
    public void accept(int token) {
        if (!allows(token)) {
            throw new IllegalStateException("token " + token + " does not fit the response format here");
        }
        byte[] b = grammar.vocab().tokenBytes[token];
        if (b != null) {
            state = state.advance(b);
        }
    }

    /** Whether {@code token} may come next. */
    public boolean allows(int token) {
        if (token < 0 || token >= grammar.vocab().vocabSize) {
            return false;
        }
        // the mask itself decides (it is cached for this state): accept agrees with what was sampled
        return (grammar.allowed(state)[token >>> 6] & (1L << token)) != 0;
    }

    @Override
    public boolean isComplete() {
        return state.complete();
    }

    /** An independent constraint at the same place (states are immutable: nothing is copied). */
    public JsonConstraint copy() {
        return new JsonConstraint(grammar, state);
    }

    JsonState stateForTest() {
        return state;
    }

    /** Whether the output so far may end here. */
    public boolean canEnd() {
        return state.canEnd();
    }
}
