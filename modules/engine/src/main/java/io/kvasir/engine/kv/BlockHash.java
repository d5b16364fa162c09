package io.kvasir.engine.kv;

import java.util.Arrays;

/**
 * The identity of a full block's contents: its token ids and, through the parent, every token
 * before it. Two blocks with equal hashes hold the same KV, because KV at a position depends on
 * all tokens up to it.
 *
 * <p>The 64-bit value only spreads entries in hash tables. Equality compares the token ids of the
 * whole chain, so a collision of values can never make one sequence read another's KV. Lookups walk
 * a chain from its first block and build each child on the parent instance they found, so the
 * chain comparison usually stops at the first step on an identical parent.
 */
public final class BlockHash {

    private static final long SEED = 0x9E3779B97F4A7C15L;

    private final long value;
    private final BlockHash parent;
    private final int[] tokens;

    private BlockHash(long value, BlockHash parent, int[] tokens) {
        this.value = value;
        this.parent = parent;
        this.tokens = tokens;
    }

    /** The hash of the block holding {@code tokens[from .. to)} after the block {@code parent} (null: first block). */
    public static BlockHash of(BlockHash parent, int[] tokens, int from, int to) {
        if (from < 0 || to > tokens.length || from >= to) {
            throw new IllegalArgumentException("bad block range [" + from + ", " + to + ") of " + tokens.length);
        }
        long h = parent == null ? SEED : parent.value;
        for (int i = from; i < to; i++) {
            h = mix(h + (tokens[i] & 0xFFFFFFFFL) + SEED);
        }
        h = mix(h ^ (to - from));
        return new BlockHash(h, parent, Arrays.copyOfRange(tokens, from, to));
    }

    /** A hash with a chosen value: lets tests stage a 64-bit collision between different contents. */
    static BlockHash withValue(long value, BlockHash parent, int[] tokens) {
        return new BlockHash(value, parent, tokens.clone());
    }

    /** The chained hashes of every full block of {@code tokens[0 .. length)}. */
    public static BlockHash[] chain(int[] tokens, int length, int blockSize) {
        BlockHash[] out = new BlockHash[length / blockSize];
        BlockHash parent = null;
        for (int b = 0; b < out.length; b++) {
            parent = of(parent, tokens, b * blockSize, (b + 1) * blockSize);
            out[b] = parent;
        }
        return out;
    }

    /** A well-mixed 64-bit summary of the chain, for indexes that only need a likely match. */
    public long value() {
        return value;
    }

    public BlockHash parent() {
        return parent;
    }

    // Splitmix64's finalizer: every input bit affects every output bit.
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BlockHash other)) {
            return false;
        }
        BlockHash a = this;
        BlockHash b = other;
        // Iterative, so a long context's chain cannot overflow the stack.
        while (a != b) {
            if (a == null || b == null || a.value != b.value || !Arrays.equals(a.tokens, b.tokens)) {
                return false;
            }
            a = a.parent;
            b = b.parent;
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(value);
    }

    @Override
    public String toString() {
        return "BlockHash[" + Long.toHexString(value) + ", " + tokens.length + " tokens]";
    }
}
