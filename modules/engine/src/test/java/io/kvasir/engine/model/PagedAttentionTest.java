package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Paged attention against a scalar reference in double precision over the same stored keys and
 * values (for F16, the halves the store holds), and against itself: the bits of a row's output do
 * not depend on the thread count or on the other rows of its batch, which is what deterministic
 * mode relies on. Lengths cross block boundaries and chunk boundaries ({@link
 * PagedAttention#CHUNK_POSITIONS}); blocks of 16 take the vector kernels, blocks of 5 the scalar
 * ones.
 */
class PagedAttentionTest {

    private static final int HEAD_DIM = 64;
    private static final int LAYERS = 2;
    /** Lengths (positions seen) of the rows: one block, a partial block, a chunk and one past, several chunks. */
    private static final int[] LENGTHS = {1, 15, 16, 17, 255, 256, 257, 700, 1029};

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (KvPrecision precision : KvPrecision.values()) {
            for (int[] h : new int[][] {{4, 4}, {8, 2}, {6, 1}}) {
                for (int bs : new int[] {16, 5}) {
                    for (int window : new int[] {0, 100, 300}) {
                        b.add(Arguments.of(precision, h[0], h[1], bs, window));
                    }
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} KV, {1} heads / {2} KV heads, blocks of {3}, window {4}")
    @MethodSource("shapes")
    void agreesWithScalarReferenceAndIsTheSameWhateverTheThreadsAndBatch(
            KvPrecision precision, int heads, int kvHeads, int bs, int window) {
        Fixture f = new Fixture(precision, heads, kvHeads, bs, 1L + heads * 31L + bs + window);
        int layer = 1;
        PagedAttention attention = new PagedAttention(f.kv, heads, kvHeads, HEAD_DIM);
        float[][] alone1 = new float[LENGTHS.length][];
        float[][] alone2 = new float[LENGTHS.length][];
        try (ComputePool one = ComputePools.create(1);
                ComputePool two = ComputePools.create(2)) {
            for (int r = 0; r < LENGTHS.length; r++) {
                alone1[r] = f.attendAlone(attention, layer, r, one, window);
                alone2[r] = f.attendAlone(attention, layer, r, two, window);
                float[] want = f.reference(layer, r, window);
                float bound = 0;
                float worst = 0;
                for (int i = 0; i < want.length; i++) {
                    bound = Math.max(bound, Math.abs(want[i]));
                    worst = Math.max(worst, Math.abs(want[i] - alone2[r][i]));
                }
                assertThat(worst)
                        .as("row of length %d against the reference", LENGTHS[r])
                        .isLessThanOrEqualTo(2e-5f * Math.max(1f, bound));
                assertThat(alone2[r])
                        .as("2 threads against 1, length %d", LENGTHS[r])
                        .containsExactly(alone1[r]);
            }
            // All rows twice in one batch: that many rows each run their chunks one after the
            // other (the long rows alone had them split over tasks); the bits must not move.
            for (ComputePool pool : new ComputePool[] {one, two}) {
                float[] batched = f.attendAll(attention, layer, pool, window);
                for (int r = 0; r < 2 * LENGTHS.length; r++) {
                    float[] row = new float[heads * HEAD_DIM];
                    System.arraycopy(batched, r * row.length, row, 0, row.length);
                    assertThat(row)
                            .as("row of length %d in a batch", LENGTHS[r % LENGTHS.length])
                            .containsExactly(alone1[r % LENGTHS.length]);
                }
            }
        }
    }

    /** Sequences of {@link #LENGTHS} positions with random keys and values, in scattered blocks. */
    private static final class Fixture {
        final KvStore kv;
        final int heads;
        final int kvHeads;
        final int bs;
        final int[][] tables;
        final float[][] q;
        /** What the store holds, per row, layer, position: keys then values, kvDim each. */
        final float[][][][] stored;

        Fixture(KvPrecision precision, int heads, int kvHeads, int bs, long seed) {
            this.heads = heads;
            this.kvHeads = kvHeads;
            this.bs = bs;
            int kvDim = kvHeads * HEAD_DIM;
            int blocks = 0;
            for (int len : LENGTHS) {
                blocks += (len + bs - 1) / bs;
            }
            kv = new KvStore(blocks, bs, LAYERS, kvDim, HEAD_DIM, precision);
            SplittableRandom rnd = new SplittableRandom(seed);
            // Blocks handed out in a shuffled order, as a pool that has been in use would.
            int[] ids = IntStream.range(0, blocks).toArray();
            for (int i = ids.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
            tables = new int[LENGTHS.length][];
            stored = new float[LENGTHS.length][LAYERS][][];
            q = new float[LENGTHS.length][heads * HEAD_DIM];
            int next = 0;
            for (int r = 0; r < LENGTHS.length; r++) {
                int len = LENGTHS[r];
                tables[r] = new int[(len + bs - 1) / bs];
                for (int b = 0; b < tables[r].length; b++) {
                    tables[r][b] = ids[next++];
                }
                for (int l = 0; l < LAYERS; l++) {
                    stored[r][l] = new float[len][2 * kvDim];
                    for (int p = 0; p < len; p++) {
                        float[] k = new float[kvDim];
                        float[] v = new float[kvDim];
                        for (int i = 0; i < kvDim; i++) {
                            // Keys large enough that the softmax is peaked and its maximum moves.
                            k[i] = (float) (rnd.nextGaussian() * 2);
                            v[i] = (float) rnd.nextGaussian();
                            stored[r][l][p][i] = precision == KvPrecision.F16 ? round16(k[i]) : k[i];
                            stored[r][l][p][kvDim + i] = precision == KvPrecision.F16 ? round16(v[i]) : v[i];
                        }
                        kv.write(l, tables[r][p / bs], p % bs, k, 0, v, 0);
                    }
                }
                for (int i = 0; i < q[r].length; i++) {
                    q[r][i] = (float) rnd.nextGaussian();
                }
            }
        }

        private static float round16(float x) {
            return Float.float16ToFloat(Float.floatToFloat16(x));
        }

        float[] attendAlone(PagedAttention attention, int layer, int r, ComputePool pool, int window) {
            ForwardBatch batch =
                    new ForwardBatch(new int[1], new int[] {LENGTHS[r] - 1}, new int[] {r}, tables, new int[] {0});
            float[] out = new float[heads * HEAD_DIM];
            attention.run(batch, layer, q[r].clone(), out, 1, pool, window);
            return out;
        }

        float[] attendAll(PagedAttention attention, int layer, ComputePool pool, int window) {
            int rows = 2 * LENGTHS.length;
            int[] positions = new int[rows];
            int[] seq = new int[rows];
            float[] qs = new float[rows * heads * HEAD_DIM];
            for (int r = 0; r < rows; r++) {
                seq[r] = r % LENGTHS.length;
                positions[r] = LENGTHS[seq[r]] - 1;
                System.arraycopy(q[seq[r]], 0, qs, r * heads * HEAD_DIM, heads * HEAD_DIM);
            }
            float[] out = new float[qs.length];
            attention.run(
                    new ForwardBatch(new int[rows], positions, seq, tables, new int[] {0}),
                    layer,
                    qs,
                    out,
                    rows,
                    pool,
                    window);
            return out;
        }

        /** Softmax attention of row r's query over its stored positions, in double, the textbook way. */
        float[] reference(int layer, int r, int window) {
            int len = LENGTHS[r];
            int from = window > 0 ? Math.max(0, len - window) : 0;
            int kvDim = kvHeads * HEAD_DIM;
            int group = heads / kvHeads;
            double scale = 1.0 / Math.sqrt(HEAD_DIM);
            float[] out = new float[heads * HEAD_DIM];
            for (int h = 0; h < heads; h++) {
                int kOff = (h / group) * HEAD_DIM;
                double[] s = new double[len];
                double max = Double.NEGATIVE_INFINITY;
                for (int p = from; p < len; p++) {
                    double dot = 0;
                    for (int d = 0; d < HEAD_DIM; d++) {
                        dot += (double) q[r][h * HEAD_DIM + d] * stored[r][layer][p][kOff + d];
                    }
                    s[p] = dot * scale;
                    max = Math.max(max, s[p]);
                }
                double sum = 0;
                for (int p = from; p < len; p++) {
                    s[p] = Math.exp(s[p] - max);
                    sum += s[p];
                }
                for (int d = 0; d < HEAD_DIM; d++) {
                    double acc = 0;
                    for (int p = from; p < len; p++) {
                        acc += s[p] * stored[r][layer][p][kvDim + kOff + d];
                    }
                    out[h * HEAD_DIM + d] = (float) (acc / sum);
                }
            }
            return out;
        }
    }
}
