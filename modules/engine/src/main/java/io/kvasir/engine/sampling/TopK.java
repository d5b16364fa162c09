package io.kvasir.engine.sampling;

/**
 * Selection of the {@code k} largest values of a vocabulary-sized array without sorting all of it:
 * a bounded min-heap, O(V log k). Ties go to the lower id, so results are deterministic.
 */
public final class TopK {

    private TopK() {}

    /** Indices of the {@code k} largest {@code values[i]} (k clamped to the length), best first. */
    public static int[] select(float[] values, int k) {
        int n = Math.min(k, values.length);
        if (n <= 0) {
            return new int[0];
        }
        int[] heap = new int[n]; // heap[0] is the worst of the kept ones
        int size = 0;
        for (int i = 0; i < values.length; i++) {
            if (size < n) {
                heap[size] = i;
                siftUp(heap, size++, values);
            } else if (better(i, heap[0], values)) {
                heap[0] = i;
                siftDown(heap, n, values);
            }
        }
        // Pop worst-first into the back of the result.
        int[] out = new int[n];
        for (int end = n - 1; end >= 0; end--) {
            out[end] = heap[0];
            heap[0] = heap[end];
            siftDown(heap, end, values);
        }
        return out;
    }

    /** Whether id {@code a} ranks above id {@code b}. */
    private static boolean better(int a, int b, float[] v) {
        return v[a] > v[b] || (v[a] == v[b] && a < b);
    }

    private static void siftUp(int[] heap, int i, float[] v) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!better(heap[parent], heap[i], v)) {
                return;
            }
            swap(heap, i, parent);
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, float[] v) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            if (l >= size) {
                return;
            }
            int worst = l;
            if (l + 1 < size && better(heap[l], heap[l + 1], v)) {
                worst = l + 1;
            }
            if (!better(heap[i], heap[worst], v)) {
                return;
            }
            swap(heap, i, worst);
            i = worst;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
