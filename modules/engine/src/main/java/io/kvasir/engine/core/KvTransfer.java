package io.kvasir.engine.core;

/**
 * A sequence's KV as it travels from a prefill engine to a decode engine: the token ids the blocks
 * cover (a whole number of blocks) and each block's bytes in {@link io.kvasir.engine.kv.KvBlockStorage}
 * layout. The receiver imports them as cached prefix blocks, so the request that follows with the
 * same prompt finds them in its prefix cache and computes only what is not covered.
 */
public record KvTransfer(int blockSize, int[] tokens, byte[][] blocks) {

    public int coveredTokens() {
        return blocks.length * blockSize;
    }
}
