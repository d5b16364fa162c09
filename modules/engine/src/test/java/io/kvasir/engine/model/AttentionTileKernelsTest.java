package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The four-query kernels against the single-query ones, bit for bit: each query's scores and
 * weighted sums must not depend on the queries it shares loads with. Head widths that are whole
 * vectors, a few vectors plus a remainder, and less than a vector; F32 and F16 stores; one query
 * too large to carry the F16 kernels' 2^112 (it falls back to the wide loop).
 */
class AttentionTileKernelsTest {

    private static final int L = AttentionKernels.L;

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (int n : new int[] {64, 128, 4 * L + L + 3, 7, 2 * L - 1}) {
            for (int bs : new int[] {L, 2 * L}) {
                for (boolean hugeQuery : new boolean[] {false, true}) {
                    b.add(Arguments.of(n, bs, hugeQuery));
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "head width {0}, blocks of {1}, a huge query {2}")
    @MethodSource("shapes")
    void fourQueriesGiveTheBitsEachGetsAlone(int n, int bs, boolean hugeQuery) {
        SplittableRandom rnd = new SplittableRandom(n * 131L + bs + (hugeQuery ? 7 : 0));
        int heads = 3;
        int stride = n;
        float[] k32 = new float[heads * n * bs];
        short[] k16 = new short[k32.length];
        float[] v32 = new float[heads * bs * n];
        short[] v16 = new short[v32.length];
        for (int i = 0; i < k32.length; i++) {
            k32[i] = (float) (rnd.nextGaussian() * 2);
            k16[i] = Float.floatToFloat16(k32[i]);
            v32[i] = (float) rnd.nextGaussian();
            v16[i] = Float.floatToFloat16(v32[i]);
        }
        // Queries laid out as rows of a batch, with gaps, at unrelated offsets.
        int[] qOff = {3, 5 * n + 1, 2 * n, 9 * n + 7};
        float[] q = new float[12 * n];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        if (hugeQuery) {
            q[qOff[2] + n / 2] = 0x1p16f;
        }
        // Prepared as attention prepares them: F16 keys take the queries times 2^112 when they fit.
        float[] prepared = new float[q.length];
        boolean[] ready = new boolean[4];
        for (int r = 0; r < 4; r++) {
            ready[r] = AttentionKernels.halfQuery(q, qOff[r], n, prepared, qOff[r]);
        }
        assertThat(ready[2]).isEqualTo(!hugeQuery);
        int head = 1;
        int kb = head * n * bs;
        int vb = head * bs * n;
        float scale = 0.125f;
        for (int slots : new int[] {bs, bs - 3, 1}) {
            float[][] alone32 = new float[4][bs];
            float[][] alone16 = new float[4][bs];
            for (int r = 0; r < 4; r++) {
                AttentionKernels.keyDotsF32(k32, kb, bs, slots, q, qOff[r], n, scale, alone32[r]);
                AttentionKernels.keyDotsF16(k16, kb, bs, slots, prepared, qOff[r], ready[r], n, scale, alone16[r]);
            }
            float[][] t32 = new float[4][bs];
            float[][] t16 = new float[4][bs];
            float[][] tw = new float[4][bs];
            // The head's keys widened once, as attention does for a tile of eight rows or more.
            float[] widened = new float[n * bs];
            AttentionKernels.widenHalves(k16, kb, n * bs, widened);
            AttentionTileKernels.keyDotsF32(
                    k32, kb, bs, slots, q, qOff[0], qOff[1], qOff[2], qOff[3], n, scale, t32[0], t32[1], t32[2],
                    t32[3]);
            // The tile kernel takes only ready queries; attention scores a query that is not alone.
            if (!hugeQuery) {
                AttentionTileKernels.keyDotsF16(
                        k16, kb, bs, slots, prepared, qOff[0], qOff[1], qOff[2], qOff[3], n, scale, t16[0], t16[1],
                        t16[2], t16[3]);
                AttentionTileKernels.keyDotsWidened(
                        widened, bs, slots, prepared, qOff[0], qOff[1], qOff[2], qOff[3], n, scale, tw[0], tw[1], tw[2],
                        tw[3]);
            }
            for (int r = 0; r < 4; r++) {
                for (int s = 0; s < slots; s++) {
                    assertThat(t32[r][s]).as("F32 score %d of query %d", s, r).isEqualTo(alone32[r][s]);
                    if (!hugeQuery) {
                        assertThat(t16[r][s])
                                .as("F16 score %d of query %d", s, r)
                                .isEqualTo(alone16[r][s]);
                        assertThat(tw[r][s])
                                .as("widened F16 score %d of query %d", s, r)
                                .isEqualTo(alone16[r][s]);
                    }
                }
            }

            // Weights as a softmax leaves them (in [0, 1]) and sums already holding a value.
            float[][] w = new float[4][bs];
            for (float[] row : w) {
                for (int s = 0; s < bs; s++) {
                    row[s] = (float) rnd.nextDouble();
                }
            }
            int[] acc = {0, 3 * n + 2, n + 1, 6 * n};
            float[] start = new float[8 * n];
            for (int i = 0; i < start.length; i++) {
                start[i] = (float) rnd.nextGaussian();
            }
            float[] alone = start.clone();
            float[] alone16v = start.clone();
            float[][] w16 = new float[4][];
            for (int r = 0; r < 4; r++) {
                w16[r] = w[r].clone();
                AttentionKernels.halfWeights(w16[r], slots);
                AttentionKernels.addValuesF32(v32, vb, stride, slots, w[r], alone, acc[r], n);
                AttentionKernels.addValuesF16(v16, vb, stride, slots, w16[r], alone16v, acc[r], n);
            }
            float[] tiled = start.clone();
            float[] tiled16 = start.clone();
            AttentionTileKernels.addValuesF32(
                    v32, vb, stride, slots, w[0], w[1], w[2], w[3], tiled, acc[0], acc[1], acc[2], acc[3], n);
            AttentionTileKernels.addValuesF16(
                    v16, vb, stride, slots, w16[0], w16[1], w16[2], w16[3], tiled16, acc[0], acc[1], acc[2], acc[3], n);
            assertThat(tiled).as("F32 values, %d slots", slots).containsExactly(alone);
            assertThat(tiled16).as("F16 values, %d slots", slots).containsExactly(alone16v);
            float[] widenedValues = new float[bs * n];
            AttentionKernels.widenHalves(v16, vb, bs * n, widenedValues);
            float[] tiledWide = start.clone();
            AttentionTileKernels.addValuesF32(
                    widenedValues,
                    0,
                    stride,
                    slots,
                    w16[0],
                    w16[1],
                    w16[2],
                    w16[3],
                    tiledWide,
                    acc[0],
                    acc[1],
                    acc[2],
                    acc[3],
                    n);
            assertThat(tiledWide).as("widened F16 values, %d slots", slots).containsExactly(alone16v);
        }
    }
}
