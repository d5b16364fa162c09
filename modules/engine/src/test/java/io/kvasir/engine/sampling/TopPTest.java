package io.kvasir.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TopPTest {

    /** The nucleus by the book: sort everything, keep the shortest prefix reaching the mass. */
    private static int[] bySorting(float[] logits, float max, double invT, double p) {
        int n = logits.length;
        Integer[] ids = new Integer[n];
        float[] w = new float[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            ids[i] = i;
            w[i] = (float) Math.exp((logits[i] - max) * invT);
            total += w[i];
        }
        Arrays.sort(ids, (a, b) -> w[a] != w[b] ? Float.compare(w[b], w[a]) : Integer.compare(a, b));
        double cum = 0;
        for (int k = 0; k < n; k++) {
            cum += w[ids[k]];
            if (cum >= p * total) {
                return Arrays.stream(ids)
                        .limit(k + 1)
                        .mapToInt(Integer::intValue)
                        .sorted()
                        .toArray();
            }
        }
        return Arrays.stream(ids).mapToInt(Integer::intValue).sorted().toArray();
    }

    @Test
    void selectsTheSameSetAsAFullSort() {
        SplittableRandom r = new SplittableRandom(11);
        Workspace ws = new Workspace();
        for (int round = 0; round < 20; round++) {
            float[] logits = new float[3000 + round * 97];
            for (int i = 0; i < logits.length; i++) {
                // Coarse values make ties common.
                logits[i] = round % 2 == 0 ? (float) (r.nextGaussian() * 3) : r.nextInt(40) / 4f;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (float l : logits) {
                max = Math.max(max, l);
            }
            for (double p : new double[] {0.05, 0.5, 0.9, 0.999}) {
                double invT = 1 / 0.8;
                int n = TopP.select(logits, max, invT, p, ws);
                int[] got = Arrays.copyOf(ws.ids, n);
                Arrays.sort(got);
                assertThat(got).as("round %d, p %s", round, p).containsExactly(bySorting(logits, max, invT, p));
            }
        }
    }
}
