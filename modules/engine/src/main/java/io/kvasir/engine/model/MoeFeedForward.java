package io.kvasir.engine.model;

import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.GroupedMatmul;
import io.kvasir.engine.tensor.WeightMatrix;
import java.util.Arrays;

/**
 * The routed-experts feed-forward of one step, for any layer of a model (it holds only scratch).
 *
 * <p>The step's rows are grouped by expert before anything is multiplied: each expert that any row
 * chose gets the rows routed to it gathered into one input, and runs once over all of them. So an
 * expert's weights are read once per step, whether one row or a 512-token prefill chose it, which
 * is what makes batches and prefill pay on a memory-bound CPU exactly as for a dense block. All
 * active experts' gate and up projections run in one parallel loop, their down projections in a
 * second ({@link GroupedMatmul}); then each row sums its experts' outputs, weighted, in the order
 * the router ranked them.
 *
 * <p>Not thread-safe: the model's engine thread calls it.
 */
final class MoeFeedForward {

    private final ExpertConfig config;
    private final int dim;
    private final PhaseTimes times;

    private int rowCapacity;
    private float[] logits;
    private float[] probs;
    private int[] chosen;
    private float[] weights;
    /** For row r's slot s: the index of r among its expert's gathered rows. */
    private int[] slotIndex;

    private final int[] rowsPerExpert;
    private final int[][] rowsOf;
    private final float[][] in;
    private final float[][] gateOut;
    private final float[][] upOut;
    private final float[][] downOut;

    private final WeightMatrix[] matrices;
    private final float[][] xs;
    private final float[][] outs;
    private final int[] batches;

    MoeFeedForward(ExpertConfig config, int dim, PhaseTimes times) {
        this.config = config;
        this.dim = dim;
        this.times = times;
        int e = config.count();
        this.probs = new float[e];
        this.rowsPerExpert = new int[e];
        this.rowsOf = new int[e][0];
        this.in = new float[e][0];
        this.gateOut = new float[e][0];
        this.upOut = new float[e][0];
        this.downOut = new float[e][0];
        this.matrices = new WeightMatrix[2 * e];
        this.xs = new float[2 * e][];
        this.outs = new float[2 * e][];
        this.batches = new int[2 * e];
    }

    /**
     * {@code out[r * dim ..] = sum over r's experts of weight * expert(x[r * dim ..])} for {@code n}
     * rows; {@code exact} as in {@link WeightMatrix#matmul(float[], float[], int, ComputePool,
     * boolean)} (an expert's batch is however many rows were routed to it, so without it a row's
     * result would depend on the other rows of its step).
     */
    void forward(ExpertWeights w, float[] x, int n, float[] out, ComputePool pool, boolean exact) {
        long t0 = System.nanoTime();
        ensureRows(n);
        int experts = config.count();
        int k = config.used();
        w.router().matmul(x, logits, n, pool, exact);
        ExpertRouter.route(logits, n, experts, k, config.normalizeWeights(), chosen, weights, probs);
        group(n, k);
        long t1 = System.nanoTime();

        int ffn = config.ffnDim();
        int active = 0;
        for (int e = 0; e < experts; e++) {
            int m = rowsPerExpert[e];
            if (m == 0) {
                continue;
            }
            gather(e, m, x);
            matrices[active] = w.gate()[e];
            xs[active] = in[e];
            batches[active] = m;
            outs[active] = gateOut[e] = grow(gateOut[e], m * ffn);
            active++;
            matrices[active] = w.up()[e];
            xs[active] = in[e];
            batches[active] = m;
            outs[active] = upOut[e] = grow(upOut[e], m * ffn);
            active++;
        }
        GroupedMatmul.matmul(pool, active, matrices, xs, batches, outs, exact);
        active = 0;
        for (int e = 0; e < experts; e++) {
            int m = rowsPerExpert[e];
            if (m == 0) {
                continue;
            }
            VectorMath.swiGlu(gateOut[e], upOut[e], 0, m * ffn);
            matrices[active] = w.down()[e];
            xs[active] = gateOut[e];
            batches[active] = m;
            outs[active] = downOut[e] = grow(downOut[e], m * dim);
            active++;
        }
        GroupedMatmul.matmul(pool, active, matrices, xs, batches, outs, exact);
        combine(n, k, out);
        times.add(t1 - t0, System.nanoTime() - t1);
    }

    /** Lists each expert's rows (in row order) and where each (row, slot) landed among them. */
    private void group(int n, int k) {
        Arrays.fill(rowsPerExpert, 0);
        for (int i = 0; i < n * k; i++) {
            int e = chosen[i];
            int m = rowsPerExpert[e]++;
            if (rowsOf[e].length <= m) {
                rowsOf[e] = Arrays.copyOf(rowsOf[e], Math.max(8, 2 * rowsOf[e].length));
            }
            rowsOf[e][m] = i / k;
            slotIndex[i] = m;
        }
    }

    private void gather(int e, int m, float[] x) {
        float[] dst = in[e] = grow(in[e], m * dim);
        int[] rows = rowsOf[e];
        for (int j = 0; j < m; j++) {
            System.arraycopy(x, rows[j] * dim, dst, j * dim, dim);
        }
    }

    private void combine(int n, int k, float[] out) {
        for (int r = 0; r < n; r++) {
            int o = r * dim;
            for (int s = 0; s < k; s++) {
                int i = r * k + s;
                float[] y = downOut[chosen[i]];
                int yOff = slotIndex[i] * dim;
                float wt = weights[i];
                if (s == 0) {
                    for (int c = 0; c < dim; c++) {
                        out[o + c] = wt * y[yOff + c];
                    }
                } else {
                    VectorMath.axpy(wt, y, yOff, out, o, dim);
                }
            }
        }
    }

    private void ensureRows(int n) {
        if (n <= rowCapacity) {
            return;
        }
        int c = Math.max(n, 2 * rowCapacity);
        int k = config.used();
        logits = new float[c * config.count()];
        chosen = new int[c * k];
        weights = new float[c * k];
        slotIndex = new int[c * k];
        rowCapacity = c;
    }

    private static float[] grow(float[] a, int size) {
        return a.length >= size ? a : new float[Math.max(size, a.length * 2)];
    }
}
