package io.kvasir.engine.core;

/**
 * A sequence's KV as it travels from a prefill engine to a decode engine: the token ids the blocks
 * cover (a whole number of blocks) and each block's bytes in {@link io.kvasir.engine.kv.KvBlockStorage}
 * layout. The receiver imports them as cached prefix blocks, so the request that follows with the
 * same prompt finds them in its prefix cache and computes only what is not covered.
 *
 * <p>The transfer carries the cache scope it was exported from: the receiver caches the blocks
 * under that scope, so only requests of the same scope find them there. A plain record with public
 * components, sent between nodes as it is.
 *
 * @param cacheScope the scope the blocks belong to (null or empty: the default scope)
 */
public record KvTransfer(int blockSize, int[] tokens, byte[][] blocks, String cacheScope) {

    public int coveredTokens() {
        return blocks.length * blockSize;
    }
}
