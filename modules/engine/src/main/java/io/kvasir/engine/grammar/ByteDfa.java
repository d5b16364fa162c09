package io.kvasir.engine.grammar;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A deterministic automaton over bytes, compiled from a {@link BytePattern}: the pattern becomes a
 * Thompson NFA, the NFA a DFA by the subset construction. States are ints (0 is the start), so a
 * frame holding one is a small value and equal states share cached masks.
 *
 * <p>Every state left can still reach an accepting one: states that cannot are removed, so a byte
 * is refused as soon as no completion is left (a month "13" is blocked at its '3'), and the grammar
 * never leads a model into a dead end. Immutable; compares by identity.
 */
final class ByteDfa {

    static final int START = 0;

    /** Bytes that every set of the pattern treats alike share a class: tables are per class. */
    private final int[] classOf;

    private final int classes;
    /** {@code next[state * classes + class]}: the next state, or -1. */
    private final int[] next;

    private final boolean[] accepting;

    private ByteDfa(int[] classOf, int classes, int[] next, boolean[] accepting) {
        this.classOf = classOf;
        this.classes = classes;
        this.next = next;
        this.accepting = accepting;
    }

    /** The automaton of {@code pattern}, or null when the pattern matches no string at all. */
    static ByteDfa of(BytePattern pattern) {
        if (pattern instanceof BytePattern.Length l) {
            ByteDfa inner = of(l.part());
            return inner == null ? null : inner.limited(l.min(), l.max());
        }
        Nfa nfa = new Nfa();
        int[] ends = nfa.build(pattern);
        return nfa.determinize(ends[0], ends[1]).pruned();
    }

    /** The state after byte {@code b}, or -1 when b leads nowhere. */
    int next(int state, int b) {
        return next[state * classes + classOf[b]];
    }

    boolean accepts(int state) {
        return accepting[state];
    }

    int states() {
        return accepting.length;
    }

    /** The bytes some state reads: what strings of this language may hold. */
    BitSet alphabet() {
        BitSet used = new BitSet(256);
        BitSet[] sets = classSets();
        for (int c = 0; c < classes; c++) {
            for (int s = 0; s < states(); s++) {
                if (next[s * classes + c] >= 0) {
                    used.or(sets[c]);
                    break;
                }
            }
        }
        return used;
    }

    /** Whether the whole of {@code text} (its UTF-8 bytes) is in the language. */
    boolean matches(String text) {
        int s = START;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            s = next(s, b & 0xFF);
            if (s < 0) {
                return false;
            }
        }
        return accepts(s);
    }

    /**
     * This language cut to strings of min..max bytes (max -1: unbounded): the product with a
     * counter. Without a max, counts past min are all alike and the counter stops there.
     */
    ByteDfa limited(int min, int max) {
        int cap = max < 0 ? min : max;
        int width = cap + 1;
        int[] id = new int[states() * width];
        Arrays.fill(id, -1);
        List<int[]> pairs = new ArrayList<>(); // product state -> (state, count)
        id[0] = 0;
        pairs.add(new int[] {START, 0});
        List<int[]> rows = new ArrayList<>();
        for (int p = 0; p < pairs.size(); p++) {
            int q = pairs.get(p)[0];
            int n = pairs.get(p)[1];
            int[] row = new int[classes];
            for (int c = 0; c < classes; c++) {
                int q2 = next[q * classes + c];
                int n2 = max < 0 ? Math.min(n + 1, min) : n + 1;
                if (q2 < 0 || n2 > cap) {
                    row[c] = -1;
                    continue;
                }
                int key = q2 * width + n2;
                if (id[key] < 0) {
                    id[key] = pairs.size();
                    pairs.add(new int[] {q2, n2});
                }
                row[c] = id[key];
            }
            rows.add(row);
        }
        boolean[] acc = new boolean[pairs.size()];
        for (int p = 0; p < acc.length; p++) {
            acc[p] = accepting[pairs.get(p)[0]] && pairs.get(p)[1] >= min;
        }
        return new ByteDfa(classOf, classes, flatten(rows, classes), acc).pruned();
    }

    /** The bytes of each class, for embedding this automaton in a larger pattern's NFA. */
    private BitSet[] classSets() {
        BitSet[] sets = new BitSet[classes];
        for (int c = 0; c < classes; c++) {
            sets[c] = new BitSet(256);
        }
        for (int b = 0; b < 256; b++) {
            sets[classOf[b]].set(b);
        }
        return sets;
    }

    /**
     * This automaton without the states from which no accepting state can be reached, renumbered
     * with the start still 0; null when the start itself is such a state (the language is empty).
     */
    private ByteDfa pruned() {
        int n = states();
        List<List<Integer>> into = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            into.add(new ArrayList<>());
        }
        ArrayDeque<Integer> work = new ArrayDeque<>();
        boolean[] live = new boolean[n];
        for (int s = 0; s < n; s++) {
            for (int c = 0; c < classes; c++) {
                int t = next[s * classes + c];
                if (t >= 0) {
                    into.get(t).add(s);
                }
            }
            if (accepting[s]) {
                live[s] = true;
                work.add(s);
            }
        }
        while (!work.isEmpty()) {
            for (int s : into.get(work.poll())) {
                if (!live[s]) {
                    live[s] = true;
                    work.add(s);
                }
            }
        }
        if (!live[START]) {
            return null;
        }
        int[] renumber = new int[n];
        int kept = 0;
        for (int s = 0; s < n; s++) {
            renumber[s] = live[s] ? kept++ : -1;
        }
        int[] table = new int[kept * classes];
        boolean[] acc = new boolean[kept];
        for (int s = 0; s < n; s++) {
            if (live[s]) {
                acc[renumber[s]] = accepting[s];
                for (int c = 0; c < classes; c++) {
                    int t = next[s * classes + c];
                    table[renumber[s] * classes + c] = t < 0 ? -1 : renumber[t];
                }
            }
        }
        return new ByteDfa(classOf, classes, table, acc);
    }

    private static int[] flatten(List<int[]> rows, int classes) {
        int[] table = new int[rows.size() * classes];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, table, i * classes, classes);
        }
        return table;
    }

    /** A Thompson NFA under construction: each state has byte-set edges and empty edges. */
    private static final class Nfa {
        private final List<List<Integer>> empty = new ArrayList<>();
        private final List<List<BitSet>> edgeSets = new ArrayList<>();
        private final List<List<Integer>> edgeTargets = new ArrayList<>();

        private int state() {
            empty.add(new ArrayList<>());
            edgeSets.add(new ArrayList<>());
            edgeTargets.add(new ArrayList<>());
            return empty.size() - 1;
        }

        private void edge(int from, BitSet set, int to) {
            edgeSets.get(from).add(set);
            edgeTargets.get(from).add(to);
        }

        /** Adds the states of {@code p}; returns its start and end. */
        int[] build(BytePattern p) {
            int start = state();
            int end = state();
            switch (p) {
                case BytePattern.Bytes b -> edge(start, b.set(), end);
                case BytePattern.Seq s -> {
                    int at = start;
                    for (BytePattern part : s.parts()) {
                        int[] f = build(part);
                        empty.get(at).add(f[0]);
                        at = f[1];
                    }
                    empty.get(at).add(end);
                }
                case BytePattern.Alt a -> {
                    for (BytePattern alt : a.alternatives()) {
                        int[] f = build(alt);
                        empty.get(start).add(f[0]);
                        empty.get(f[1]).add(end);
                    }
                }
                case BytePattern.Repeat r -> {
                    // Unrolled: min copies in a row, then max - min optional ones (or one loop).
                    int at = start;
                    for (int i = 0; i < r.min(); i++) {
                        int[] f = build(r.part());
                        empty.get(at).add(f[0]);
                        at = f[1];
                    }
                    if (r.max() < 0) {
                        int[] f = build(r.part());
                        empty.get(at).add(f[0]);
                        empty.get(f[1]).add(at);
                    } else {
                        for (int i = r.min(); i < r.max(); i++) {
                            int[] f = build(r.part());
                            empty.get(at).add(f[0]);
                            empty.get(at).add(end);
                            at = f[1];
                        }
                    }
                    empty.get(at).add(end);
                }
                case BytePattern.Length l -> {
                    // Counting takes a product with a counter, done on the part's own automaton,
                    // which then joins this NFA state for state.
                    ByteDfa d = ByteDfa.of(l);
                    if (d != null) {
                        BitSet[] sets = d.classSets();
                        int first = empty.size();
                        for (int s = 0; s < d.states(); s++) {
                            state();
                        }
                        for (int s = 0; s < d.states(); s++) {
                            for (int c = 0; c < d.classes; c++) {
                                int t = d.next[s * d.classes + c];
                                if (t >= 0) {
                                    edge(first + s, sets[c], first + t);
                                }
                            }
                            if (d.accepting[s]) {
                                empty.get(first + s).add(end);
                            }
                        }
                        empty.get(start).add(first + START);
                    }
                }
            }
            return new int[] {start, end};
        }

        private BitSet closure(BitSet states) {
            ArrayDeque<Integer> work = new ArrayDeque<>();
            states.stream().forEach(work::add);
            while (!work.isEmpty()) {
                for (int t : empty.get(work.poll())) {
                    if (!states.get(t)) {
                        states.set(t);
                        work.add(t);
                    }
                }
            }
            return states;
        }

        /** The subset construction, over classes of bytes that no edge tells apart. */
        ByteDfa determinize(int start, int end) {
            Map<BitSet, Integer> distinct = new LinkedHashMap<>();
            for (List<BitSet> sets : edgeSets) {
                for (BitSet s : sets) {
                    distinct.putIfAbsent(s, distinct.size());
                }
            }
            int[] classOf = new int[256];
            Map<BitSet, Integer> signatures = new HashMap<>();
            List<Integer> representative = new ArrayList<>();
            for (int b = 0; b < 256; b++) {
                BitSet sig = new BitSet();
                for (Map.Entry<BitSet, Integer> e : distinct.entrySet()) {
                    if (e.getKey().get(b)) {
                        sig.set(e.getValue());
                    }
                }
                Integer c = signatures.get(sig);
                if (c == null) {
                    c = signatures.size();
                    signatures.put(sig, c);
                    representative.add(b);
                }
                classOf[b] = c;
            }
            int classes = representative.size();
            BitSet first = new BitSet();
            first.set(start);
            List<BitSet> subsets = new ArrayList<>(List.of(closure(first)));
            Map<BitSet, Integer> ids = new HashMap<>(Map.of(subsets.get(0), 0));
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < subsets.size(); i++) {
                BitSet from = subsets.get(i);
                int[] row = new int[classes];
                for (int c = 0; c < classes; c++) {
                    int b = representative.get(c);
                    BitSet to = new BitSet();
                    from.stream().forEach(s -> {
                        List<BitSet> sets = edgeSets.get(s);
                        for (int k = 0; k < sets.size(); k++) {
                            if (sets.get(k).get(b)) {
                                to.set(edgeTargets.get(s).get(k));
                            }
                        }
                    });
                    if (to.isEmpty()) {
                        row[c] = -1;
                        continue;
                    }
                    BitSet closed = closure(to);
                    Integer id = ids.get(closed);
                    if (id == null) {
                        id = subsets.size();
                        subsets.add(closed);
                        ids.put(closed, id);
                    }
                    row[c] = id;
                }
                rows.add(row);
            }
            boolean[] acc = new boolean[subsets.size()];
            for (int i = 0; i < acc.length; i++) {
                acc[i] = subsets.get(i).get(end);
            }
            return new ByteDfa(classOf, classes, flatten(rows, classes), acc);
        }
    }
}
