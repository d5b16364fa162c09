package io.kvasir.engine.grammar;

import java.util.Arrays;

/**
 * Where the JSON automaton is after some bytes: the set of stacks still alive (one, except while an
 * {@code anyOf} is undecided). Immutable, with value equality, so states key the mask cache.
 */
final class JsonState {

    private final Stack[] alternatives;
    private final int hash;

    private JsonState(Stack[] alternatives) {
        this.alternatives = alternatives;
        this.hash = Arrays.hashCode(alternatives);
    }

    /** The state before any output: a value of {@code root}, then the end. */
    static JsonState start(Shape root) {
        return new JsonState(new Stack[] {new Stack(new Frame.Value(root, 0), new Stack(new Frame.End(0), null))});
    }

    /** The state after byte {@code b} (0..255), or null when no stack accepts it. */
    JsonState advance(int b) {
        if (alternatives.length == 1 && plainStringByte(alternatives[0], b)) {
            return this; // the bulk of a mask walk inside a string: no frame to make, nothing to collect
        }
        Collector out = new Collector();
        for (Stack s : alternatives) {
            s.step(b, out);
        }
        if (out.n == 0) {
            return null;
        }
        if (out.n == 1 && alternatives.length == 1 && out.stacks[0] == alternatives[0]) {
            return this; // inside a string most bytes change nothing: no new state
        }
        return new JsonState(Arrays.copyOf(out.stacks, out.n));
    }

    private static boolean plainStringByte(Stack s, int b) {
        return s.top == StrFrame.PLAIN && b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
    }

    /** The state after all of {@code bytes}, or null when they are not a possible continuation. */
    JsonState advance(byte[] bytes) {
        JsonState s = this;
        for (int i = 0; i < bytes.length && s != null; i++) {
            s = s.advance(bytes[i] & 0xFF);
        }
        return s;
    }

    /**
     * A state with the same mask over tokens of at most {@code longestToken} bytes, chosen so that
     * masks are shared: inside a string of bounded length every character makes a new state, but
     * away from both limits the count cannot matter to one token, so it is set to a fixed value.
     */
    JsonState maskKey(int longestToken) {
        Stack[] keyed = null;
        for (int i = 0; i < alternatives.length; i++) {
            Stack s = alternatives[i];
            if (s.top instanceof BoundedStrFrame f) {
                BoundedStrFrame k = f.awayFromLimits(longestToken);
                if (k != f) {
                    if (keyed == null) {
                        keyed = alternatives.clone();
                    }
                    keyed[i] = new Stack(k, s.rest);
                }
            }
        }
        return keyed == null ? this : new JsonState(keyed);
    }

    /** Whether the output may end here (end of generation is allowed). */
    boolean canEnd() {
        for (Stack s : alternatives) {
            if (s.canEnd()) {
                return true;
            }
        }
        return false;
    }

    /** Whether the value is complete: nothing but whitespace can follow on any alternative. */
    boolean complete() {
        for (Stack s : alternatives) {
            if (!(s.top instanceof Frame.End)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        return this == o || (o instanceof JsonState s && s.hash == hash && Arrays.equals(s.alternatives, alternatives));
    }

    /** Collects the stacks a byte leads to, dropping duplicates (two anyOf branches may converge). */
    private static final class Collector implements Frame.Out {
        Stack[] stacks = new Stack[2];
        int n;

        @Override
        public void add(Stack s) {
            for (int i = 0; i < n; i++) {
                if (stacks[i].equals(s)) {
                    return;
                }
            }
            if (n == stacks.length) {
                stacks = Arrays.copyOf(stacks, n * 2);
            }
            stacks[n++] = s;
        }
    }
}
