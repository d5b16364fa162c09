package io.kvasir.engine.grammar;

/**
 * An immutable stack of {@link Frame}s, shared between the states derived from it: advancing by a
 * byte replaces the top few frames and keeps the rest. The hash is computed once, so states can key
 * the mask cache cheaply.
 */
final class Stack {

    final Frame top;
    final Stack rest;
    private final int hash;

    Stack(Frame top, Stack rest) {
        this.top = top;
        this.rest = rest;
        this.hash = top.hashCode() * 31 + (rest == null ? 0 : rest.hash);
    }

    /** Feeds one byte to the top frame; every stack it may lead to is added to {@code out}. */
    void step(int b, Frame.Out out) {
        top.step(this, b, out);
    }

    /** Whether the input may end here: the top frames can all end without another byte. */
    boolean canEnd() {
        for (Stack s = this; s != null; s = s.rest) {
            if (s.top instanceof Frame.End) {
                return true;
            }
            if (!s.top.endsWithoutByte()) {
                return false;
            }
        }
        return false;
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Stack s) || s.hash != hash) {
            return false;
        }
        Stack a = this;
        Stack c = s;
        while (a != null && c != null) {
            if (a == c) {
                return true;
            }
            if (!a.top.equals(c.top)) {
                return false;
            }
            a = a.rest;
            c = c.rest;
        }
        return a == c;
    }
}
