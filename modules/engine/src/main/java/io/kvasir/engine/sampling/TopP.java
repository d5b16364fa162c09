package io.kvasir.engine.sampling;

/**
 * The nucleus of a whole-vocabulary distribution, found without sorting the vocabulary: a
 * quickselect on probability mass. Each round partitions the live range around a pivot weight;
 * if the heavier side alone reaches the wanted mass the search goes on inside it, otherwise it is
 * kept whole and the search goes on in the lighter side. Expected O(V). Ties rank by lower id,
 * as everywhere in sampling.
 */
final class TopP {

    private static final int SMALL = 32;

    private TopP() {}

    /**
     * Fills {@code ws.ids[0 .. n)} with the smallest set of most likely ids whose weight reaches
     * {@code p} of the total, and {@code ws.weights} with their weights; returns n. Weights are
     * {@code exp((logit - max) / T)}, so the most likely id weighs 1.
     */
    static int select(float[] logits, float max, double invT, double p, Workspace ws) {
        int n = logits.length;
        ws.ensure(n);
        int[] ids = ws.ids;
        float[] w = ws.weights;
        double total = 0;
        for (int i = 0; i < n; i++) {
            ids[i] = i;
            w[i] = (float) Math.exp((logits[i] - max) * invT);
            total += w[i];
        }
        double target = p * total;
        int lo = 0; // ids[0 .. lo) are kept for sure
        int hi = n; // the answer's boundary lies in [lo, hi)
        while (hi - lo > SMALL) {
            float pivot = medianOfThree(w[lo], w[(lo + hi) >>> 1], w[hi - 1]);
            // Three-way partition: [lo, gt) heavier, [gt, lt) equal, [lt, hi) lighter.
            int gt = lo;
            int lt = hi;
            int i = lo;
            double heavier = 0;
            double equal = 0;
            while (i < lt) {
                if (w[i] > pivot) {
                    heavier += w[i];
                    swap(ids, w, i++, gt++);
                } else if (w[i] < pivot) {
                    swap(ids, w, i, --lt);
                } else {
                    equal += w[i];
                    i++;
                }
            }
            if (heavier >= target) {
                hi = gt;
                continue;
            }
            target -= heavier;
            if (equal >= target) {
                // Equal weights: the lowest ids among them complete the set.
                java.util.Arrays.sort(ids, gt, lt);
                int need = (int) Math.min(lt - gt, Math.max(1, Math.ceil(target / pivot)));
                return gt + need;
            }
            target -= equal;
            lo = lt;
        }
        insertionSort(ids, w, lo, hi);
        double cum = 0;
        for (int i = lo; i < hi; i++) {
            cum += w[i];
            if (cum >= target) {
                return i + 1;
            }
        }
        return hi;
    }

    private static float medianOfThree(float a, float b, float c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private static void insertionSort(int[] ids, float[] w, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            for (int j = i; j > from && (w[j] > w[j - 1] || (w[j] == w[j - 1] && ids[j] < ids[j - 1])); j--) {
                swap(ids, w, j, j - 1);
            }
        }
    }

    private static void swap(int[] ids, float[] w, int a, int b) {
        int t = ids[a];
        ids[a] = ids[b];
        ids[b] = t;
        float f = w[a];
        w[a] = w[b];
        w[b] = f;
    }
}
