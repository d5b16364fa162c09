package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import java.util.stream.IntStream;

/** Building blocks for driving a model by hand in tests, the way a scheduler would. */
final class Batches {

    private Batches() {}

    /** One sequence's chunk of tokens starting at {@code start}; logits for its last row. */
    static ForwardBatch chunk(int[] tokens, int start, int[] blockTable) {
        return new ForwardBatch(
                tokens,
                IntStream.range(start, start + tokens.length).toArray(),
                new int[tokens.length],
                new int[][] {blockTable},
                new int[] {tokens.length - 1});
    }

    /** Like {@link #chunk} but with logits for every row. */
    static ForwardBatch chunkAllRows(int[] tokens, int start, int[] blockTable) {
        return new ForwardBatch(
                tokens,
                IntStream.range(start, start + tokens.length).toArray(),
                new int[tokens.length],
                new int[][] {blockTable},
                IntStream.range(0, tokens.length).toArray());
    }

    /** Blocks {@code 0 .. n-1} in order. */
    static int[] identityTable(int n) {
        return IntStream.range(0, n).toArray();
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static float maxAbs(float[] v) {
        float m = 0;
        for (float x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /** Greedy decoding of {@code steps} tokens after a prompt prefilled in one chunk. */
    static int[] greedy(LlamaModel model, int[] prompt, int steps, int[] table) {
        int[] out = new int[steps];
        int next = argmax(model.forward(chunk(prompt, 0, table))[0]);
        for (int i = 0; i < steps; i++) {
            out[i] = next;
            if (i + 1 < steps) {
                next = argmax(model.forward(chunk(new int[] {next}, prompt.length + i, table))[0]);
            }
        }
        return out;
    }
}
