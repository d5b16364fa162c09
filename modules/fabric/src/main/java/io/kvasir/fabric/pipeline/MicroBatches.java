package io.kvasir.fabric.pipeline;

import io.kvasir.engine.core.ForwardBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits one engine step's batch into micro-batches of whole sequences, so the first stage computes
 * the next part while the later stages work on the one before. A sequence is never cut: its rows
 * must stay together (a prefill chunk's later rows attend to its earlier ones, computed in the same
 * pass). Parts are contiguous row ranges of about equal rows.
 */
final class MicroBatches {

    private MicroBatches() {}

    /**
     * One part: its batch (sequences renumbered from 0), for each of its sampled rows the index into
     * the whole batch's {@code sampleRows} it answers, and likewise for its {@code hiddenRows}.
     */
    record Part(ForwardBatch batch, int[] sampleOrigin, int[] hiddenOrigin) {}

    static List<Part> split(ForwardBatch batch, int parts) {
        int n = batch.size();
        // Row ranges of the sequences, in row order.
        List<int[]> seqRuns = new ArrayList<>();
        for (int i = 0; i < n; ) {
            int j = i;
            while (j < n && batch.seqIndex()[j] == batch.seqIndex()[i]) {
                j++;
            }
            seqRuns.add(new int[] {i, j});
            i = j;
        }
        int k = Math.max(1, Math.min(parts, seqRuns.size()));
        if (k == 1) {
            int[] origin = new int[batch.sampleRows().length];
            Arrays.setAll(origin, i -> i);
            int[] hiddenOrigin = new int[batch.hiddenRows().length];
            Arrays.setAll(hiddenOrigin, i -> i);
            return List.of(new Part(batch, origin, hiddenOrigin));
        }
        // Cut at sequence boundaries nearest to equal row counts, at least one sequence a part.
        List<int[]> ranges = new ArrayList<>();
        int run = 0;
        for (int p = 0; p < k; p++) {
            int from = seqRuns.get(run)[0];
            int target = (int) ((long) n * (p + 1) / k);
            int last = run;
            int mustLeave = k - p - 1; // sequences the later parts need
            while (last + 1 < seqRuns.size() - mustLeave && seqRuns.get(last)[1] < target) {
                last++;
            }
            if (p == k - 1) {
                last = seqRuns.size() - 1;
            }
            ranges.add(new int[] {from, seqRuns.get(last)[1]});
            run = last + 1;
        }
        List<Part> out = new ArrayList<>(k);
        for (int[] r : ranges) {
            out.add(part(batch, r[0], r[1]));
        }
        return out;
    }

    private static Part part(ForwardBatch batch, int from, int to) {
        int len = to - from;
        int[] seqIndex = new int[len];
        List<int[]> tables = new ArrayList<>();
        int previous = -1;
        for (int i = 0; i < len; i++) {
            int seq = batch.seqIndex()[from + i];
            if (seq != previous) {
                tables.add(batch.blockTables()[seq]);
                previous = seq;
            }
            seqIndex[i] = tables.size() - 1;
        }
        int[][] samples = within(batch.sampleRows(), from, to);
        int[][] hidden = within(batch.hiddenRows(), from, to);
        ForwardBatch sub = new ForwardBatch(
                Arrays.copyOfRange(batch.tokens(), from, to),
                Arrays.copyOfRange(batch.positions(), from, to),
                seqIndex,
                tables.toArray(int[][]::new),
                samples[0],
                batch.exact(),
                hidden[0]);
        return new Part(sub, samples[1], hidden[1]);
    }

    /** The rows of {@code rows} in [from, to), renumbered from {@code from}, and their indexes in {@code rows}. */
    private static int[][] within(int[] rows, int from, int to) {
        int count = 0;
        for (int r : rows) {
            if (r >= from && r < to) {
                count++;
            }
        }
        int[] local = new int[count];
        int[] origin = new int[count];
        for (int s = 0, j = 0; s < rows.length; s++) {
            if (rows[s] >= from && rows[s] < to) {
                local[j] = rows[s] - from;
                origin[j++] = s;
            }
        }
        return new int[][] {local, origin};
    }
}
