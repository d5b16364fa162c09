package io.kvasir.engine.kv;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
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
 *
 * <p>Cache scopes: a chain starts either from nothing (the shared scope, {@code parent == null} on
 * its first block, as before scopes existed) or from a {@link #root(String) root} made from its
 * scope's name. Equality walks the whole chain, root included, so blocks of equal tokens under
 * different scopes are never equal: one tenant can neither read another's KV nor learn from a
 * cache hit (and its shorter time to first token) that another sent a prefix.
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

    /**
     * Marks a root's token array. Real block tokens are vocabulary ids (validated non-negative
     * before they reach the cache), so no block of tokens can equal a root, whatever the block size.
     */
    private static final int ROOT_MARK = -1;

    /**
     * The root every block chain of {@code scope} starts from, or null for the shared scope (null or
     * empty): shared chains keep the hashes they had before scopes existed.
     *
     * <p>The root's "tokens" are the mark and the scope's SHA-256 as eight ints. The digest keeps a
     * root small whatever the scope's length and keeps the scope's name (perhaps derived from a
     * credential) out of the cache; two scopes share a root only if their SHA-256 collides.
     */
    public static BlockHash root(String scope) {
        if (scope == null || scope.isEmpty()) {
            return null;
        }
        byte[] digest = sha256(scope.getBytes(StandardCharsets.UTF_8));
        ByteBuffer words = ByteBuffer.wrap(digest);
        int[] tokens = new int[1 + digest.length / Integer.BYTES];
        tokens[0] = ROOT_MARK;
        long h = SEED;
        for (int i = 1; i < tokens.length; i++) {
            tokens[i] = words.getInt();
            h = mix(h + (tokens[i] & 0xFFFFFFFFL) + SEED);
        }
        // A different final step from a block's keeps root values apart from block values.
        return new BlockHash(mix(h ^ ROOT_MARK), null, tokens);
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime provides SHA-256", e);
        }
    }

    /**
     * The hash of the block holding {@code tokens[from .. to)} after {@code parent}: the previous
     * block, or for a first block its scope's {@link #root} (null in the shared scope).
     */
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

    /** The chained hashes of every full block of {@code tokens[0 .. length)}, starting from {@code root}. */
    public static BlockHash[] chain(BlockHash root, int[] tokens, int length, int blockSize) {
        BlockHash[] out = new BlockHash[length / blockSize];
        BlockHash parent = root;
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
