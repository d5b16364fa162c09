package io.kvasir.engine.kv;

/**
 * One block of KV slots, identified by its id in {@link KvBlockStorage}. Its reference count is the
 * number of sequences whose block table holds it: a prefix block shared by three requests has
 * {@code refCnt() == 3}. When the count drops to zero the block goes back to its pool's free queue;
 * if it carries a {@link BlockHash} it stays findable there until the pool reuses it.
 *
 * <p>Counts follow netty's {@code ReferenceCounted}: {@link #retain()} on a free block is an error;
 * only the pool revives a free block (a cache hit) or hands out a fresh one. Single-threaded, like
 * the engine that owns the pool.
 */
public final class KvBlock {

    private final int id;
    private final BlockPool pool;
    private int refCnt;
    private BlockHash hash;

    // Links of the pool's free queue; meaningful only while refCnt == 0. Owned by BlockPool.
    KvBlock prev;
    KvBlock next;

    KvBlock(int id, BlockPool pool) {
        this.id = id;
        this.pool = pool;
    }

    public int id() {
        return id;
    }

    public int refCnt() {
        return refCnt;
    }

    /** The hash this block is cached under, or null while it is partly filled or uncached. */
    public BlockHash hash() {
        return hash;
    }

    /** Adds a holder. The block must already be held: free blocks are revived through the pool. */
    public KvBlock retain() {
        if (refCnt <= 0) {
            throw new IllegalStateException("retain of free KV block " + id);
        }
        refCnt++;
        return this;
    }

    /**
     * Drops a holder. The last release hands the block back to the pool's free queue, where a
     * cached block waits to be found again and an uncached one is reused first.
     *
     * @return true when this was the last reference
     */
    public boolean release() {
        if (refCnt <= 0) {
            throw new IllegalStateException("release of free KV block " + id);
        }
        if (--refCnt > 0) {
            return false;
        }
        pool.returnToFreeQueue(this);
        return true;
    }

    void setRefCnt(int refCnt) {
        this.refCnt = refCnt;
    }

    void setHash(BlockHash hash) {
        this.hash = hash;
    }

    @Override
    public String toString() {
        return "KvBlock[" + id + ", refCnt=" + refCnt + (hash != null ? ", cached" : "") + "]";
    }
}
