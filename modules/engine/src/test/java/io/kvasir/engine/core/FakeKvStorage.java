package io.kvasir.engine.core;

import io.kvasir.engine.kv.KvBlockStorage;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** KV storage whose "KV" at a slot is the token id written there (-1: never written). */
final class FakeKvStorage implements KvBlockStorage {

    private final int numBlocks;
    private final int blockSize;
    private final int[] slots;

    FakeKvStorage(int numBlocks, int blockSize) {
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.slots = new int[numBlocks * blockSize];
        Arrays.fill(slots, -1);
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
        return blockSize * Integer.BYTES;
    }

    void write(int block, int offset, int token) {
        slots[block * blockSize + offset] = token;
    }

    int read(int block, int offset) {
        return slots[block * blockSize + offset];
    }

    @Override
    public void exportBlock(int id, byte[] dst, int off) {
        ByteBuffer buf = ByteBuffer.wrap(dst, off, blockBytes());
        for (int i = 0; i < blockSize; i++) {
            buf.putInt(slots[id * blockSize + i]);
        }
    }

    @Override
    public void importBlock(int id, byte[] src, int off) {
        ByteBuffer buf = ByteBuffer.wrap(src, off, blockBytes());
        for (int i = 0; i < blockSize; i++) {
            slots[id * blockSize + i] = buf.getInt();
        }
    }
}
