package io.kvasir.engine.kv;

/**
 * The physical memory behind KV block ids: for each block, every layer's keys and values for
 * {@code blockSize} token slots. The block pool decides which id holds what; this decides where
 * its bytes live. Export and import move one block's bytes, in a layout both sides agree on
 * because they load the same model with the same KV precision.
 */
public interface KvBlockStorage {

    /** Number of blocks this storage holds; ids are {@code 0 .. numBlocks()-1}. */
    int numBlocks();

    /** Token slots per block. */
    int blockSize();

    /** Bytes one block's export takes. */
    int blockBytes();

    /** Copies block {@code id}'s contents (all layers, K and V) into {@code dst[off ..]}. */
    void exportBlock(int id, byte[] dst, int off);

    /** Overwrites block {@code id} with bytes produced by {@link #exportBlock}. */
    void importBlock(int id, byte[] src, int off);
}
