package io.kvasir.engine.sim;

import io.kvasir.engine.kv.KvBlockStorage;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The simulated engine's KV: one 64-bit context hash per token slot, standing for the keys and
 * values a real model would keep there. A block's export declares {@code bytesPerToken} bytes a
 * slot, so transfers between simulated engines move as many bytes as the model being simulated
 * would; only the first eight of each slot carry the hash, the rest are zeros.
 */
final class SimulatedKvStorage implements KvBlockStorage {

    /** A slot's hash takes eight bytes, so no smaller size can be declared. */
    static final int MIN_BYTES_PER_TOKEN = Long.BYTES;
    /** The hashes live on the heap, eight bytes a slot: 2^26 slots is 512 MiB, more than a test needs. */
    static final long MAX_SLOTS = 1L << 26;

    private final int numBlocks;
    private final int blockSize;
    private final int bytesPerToken;
    private final long[] slots;

    SimulatedKvStorage(int numBlocks, int blockSize, int bytesPerToken) {
        if ((long) numBlocks * blockSize > MAX_SLOTS) {
            throw new IllegalArgumentException(numBlocks + " blocks of " + blockSize + " slots are too many to simulate"
                    + " (at most " + MAX_SLOTS + " slots)");
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.bytesPerToken = bytesPerToken;
        this.slots = new long[numBlocks * blockSize];
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public int blockBytes() {
        return blockSize * bytesPerToken;
    }

    long read(int block, int offset) {
        return slots[index(block, offset)];
    }

    void write(int block, int offset, long state) {
        slots[index(block, offset)] = state;
    }

    private int index(int block, int offset) {
        if (block < 0 || block >= numBlocks || offset < 0 || offset >= blockSize) {
            throw new IllegalStateException("slot " + offset + " of block " + block + " is outside a pool of "
                    + numBlocks + " blocks of " + blockSize);
        }
        return block * blockSize + offset;
    }

    @Override
    public void exportBlock(int id, byte[] dst, int off) {
        ByteBuffer buf = ByteBuffer.wrap(dst, off, blockBytes());
        Arrays.fill(dst, off, off + blockBytes(), (byte) 0);
        for (int i = 0; i < blockSize; i++) {
            buf.putLong(off + i * bytesPerToken, read(id, i));
        }
    }

    @Override
    public void importBlock(int id, byte[] src, int off) {
        ByteBuffer buf = ByteBuffer.wrap(src, off, blockBytes());
        for (int i = 0; i < blockSize; i++) {
            write(id, i, buf.getLong(off + i * bytesPerToken));
        }
    }
}
