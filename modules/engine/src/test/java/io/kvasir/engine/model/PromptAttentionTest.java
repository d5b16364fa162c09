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
 * A prompt's rows attend in tiles ({@link PagedAttention#TILE_ROWS} rows of one sequence per task,
 * four at a time sharing each key and value load): every row must come out with the bits it gets
 * alone in a batch of one (which {@link PagedAttentionTest} checks against a reference), whatever
 * the tile size, the thread count and the rows around it. The stores hold keys and values past
 * every row's position, so a row that saw a later position would differ. Prompt chunks start and
 * end inside blocks and cross the chunk boundary at {@link PagedAttention#CHUNK_POSITIONS}.
 */
class PromptAttentionTest {

    private static final int HEAD_DIM = 64;
    private static final int LAYERS = 2;
    /** Positions stored per sequence: more than any row below sees. */
    private static final int[] STORED = {340, 320};
    /** Prompt chunks of sequence 0 ({@code [from, to)}), each run as one batch. */
    private static final int[][] CHUNKS = {{0, 40}, {5, 37}, {240, 275}, {0, 300}};

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (KvPrecision precision : KvPrecision.values()) {
            for (int[] h : new int[][] {{4, 4}, {8, 2}, {6, 1}}) {
                for (int bs : new int[] {16, 32, 5}) {
                    for (int window : new int[] {0, 100}) {
                        b.add(Arguments.of(precision, h[0], h[1], bs, window));
                    }
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} KV, {1} heads / {2} KV heads, blocks of {3}, window {4}")
    @MethodSource("shapes")
    void promptRowsInTilesGiveTheBitsTheyGetAlone(KvPrecision precision, int heads, int kvHeads, int bs, int window) {
        Fixture f = new Fixture(precision, heads, kvHeads, bs, 11L + heads * 7L + bs + window);
        int layer = 1;
        int qDim = heads * HEAD_DIM;
        float scale = (float) (1.0 / Math.sqrt(HEAD_DIM));
        PagedAttention alone = new PagedAttention(f.kv, heads, kvHeads, HEAD_DIM, scale, 0f, 1);
        try (ComputePool one = ComputePools.create(1);
                ComputePool two = ComputePools.create(2)) {
            float[][] want = new float[STORED[0]][];
            for (int p = 0; p < 300; p++) {
                want[p] = f.run(alone, layer, new int[] {p}, new int[] {0}, one, window);
            }
            float[] want1 = f.run(alone, layer, new int[] {STORED[1] - 1}, new int[] {1}, one, window);
            for (int tileRows : new int[] {3, 4, 16, 32}) {
                PagedAttention tiled = new PagedAttention(f.kv, heads, kvHeads, HEAD_DIM, scale, 0f, tileRows);
                for (ComputePool pool : new ComputePool[] {one, two}) {
                    for (int[] chunk : CHUNKS) {
                        int rows = chunk[1] - chunk[0];
                        int[] positions = IntStream.range(chunk[0], chunk[1]).toArray();
                        float[] out = f.run(tiled, layer, positions, new int[rows], pool, window);
                        for (int r = 0; r < rows; r++) {
                            float[] row = new float[qDim];
                            System.arraycopy(out, r * qDim, row, 0, qDim);
                            assertThat(row)
                                    .as(
                                            "tiles of %d, %d threads, position %d of chunk [%d, %d)",
                                            tileRows, pool.threads(), positions[r], chunk[0], chunk[1])
                                    .containsExactly(want[positions[r]]);
                        }
                    }
                    // A prompt chunk of one sequence next to a decode row of another.
                    int[] positions = {250, 251, 252, 253, 254, 255, 256, 257, 258, STORED[1] - 1};
                    int[] seq = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
                    float[] out = f.run(tiled, layer, positions, seq, pool, window);
                    for (int r = 0; r < positions.length; r++) {
                        float[] row = new float[qDim];
                        System.arraycopy(out, r * qDim, row, 0, qDim);
                        assertThat(row)
                                .as("tiles of %d, %d threads, mixed batch row %d", tileRows, pool.threads(), r)
                                .containsExactly(seq[r] == 0 ? want[positions[r]] : want1);
                    }
                }
            }
        }
    }

    /** Two sequences of {@link #STORED} positions with random keys and values in shuffled blocks. */
    private static final class Fixture {
        final KvStore kv;
        final int qDim;
        final int[][] tables;
        /** A query per (sequence, position). */
        final float[][][] q;

        Fixture(KvPrecision precision, int heads, int kvHeads, int bs, long seed) {
            int kvDim = kvHeads * HEAD_DIM;
            qDim = heads * HEAD_DIM;
            int blocks = 0;
            for (int len : STORED) {
                blocks += (len + bs - 1) / bs;
            }
            kv = new KvStore(blocks, bs, LAYERS, kvDim, HEAD_DIM, precision);
            SplittableRandom rnd = new SplittableRandom(seed);
            int[] ids = IntStream.range(0, blocks).toArray();
            for (int i = ids.length - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                int t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
            tables = new int[STORED.length][];
            q = new float[STORED.length][][];
            int next = 0;
            for (int s = 0; s < STORED.length; s++) {
                int len = STORED[s];
                tables[s] = new int[(len + bs - 1) / bs];
                for (int b = 0; b < tables[s].length; b++) {
                    tables[s][b] = ids[next++];
                }
                float[] k = new float[kvDim];
                float[] v = new float[kvDim];
                for (int l = 0; l < LAYERS; l++) {
                    for (int p = 0; p < len; p++) {
                        for (int i = 0; i < kvDim; i++) {
                            // Keys large enough that the softmax is peaked and its maximum moves.
                            k[i] = (float) (rnd.nextGaussian() * 2);
                            v[i] = (float) rnd.nextGaussian();
                        }
                        kv.write(l, tables[s][p / bs], p % bs, k, 0, v, 0);
                    }
                }
                q[s] = new float[len][qDim];
                for (float[] row : q[s]) {
                    for (int i = 0; i < qDim; i++) {
                        row[i] = (float) rnd.nextGaussian();
                    }
                }
            }
            // A few query heads too large to carry F16's 2^112 (KvStore.prepareQuery): their tiles
            // of four go row by row, which must not change a bit either.
            for (int p : new int[] {7, 33, 251, 262}) {
                q[0][p][5] = 0x1p16f;
            }
        }

        /** Attention for rows at {@code positions} of sequences {@code seq}, as one batch. */
        float[] run(PagedAttention attention, int layer, int[] positions, int[] seq, ComputePool pool, int window) {
            int rows = positions.length;
            float[] qs = new float[rows * qDim];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(q[seq[r]][positions[r]], 0, qs, r * qDim, qDim);
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
    }
}
