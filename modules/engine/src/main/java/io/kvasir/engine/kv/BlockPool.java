package io.kvasir.engine.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every KV block of one engine, preallocated with ids {@code 0 .. numBlocks-1}, and the free queue
 * that decides which block is reused next.
 *
 * <p>The free queue is in eviction order. A released block that carries a hash goes to the tail
 * and stays in the cache map, so a later request with the same prefix can revive it (lazy
 * eviction); its hash is dropped only when {@link #allocate} takes it from the head for new
 * contents. A released block without a hash holds nothing anyone can find again, so it goes to the
 * head and is reused first. Single-threaded.
 */
public final class BlockPool {

    private final KvBlock[] blocks;
    /** Sentinel of the circular free queue: {@code head.next} is evicted first. */
    private final KvBlock head;

    private int numFree;
    private final Map<BlockHash, KvBlock> cached = new HashMap<>();
    private long evictions;

    public BlockPool(int numBlocks) {
        if (numBlocks <= 0) {
            throw new IllegalArgumentException("a block pool needs at least one block, got " + numBlocks);
        }
        head = new KvBlock(-1, this);
        head.prev = head;
        head.next = head;
        blocks = new KvBlock[numBlocks];
        for (int i = 0; i < numBlocks; i++) {
            blocks[i] = new KvBlock(i, this);
            linkBefore(head, blocks[i]);
        }
        numFree = numBlocks;
    }

    public int numBlocks() {
        return blocks.length;
    }

    /** Blocks nobody holds, cached-but-free ones included (they can be reused at once). */
    public int numFree() {
        return numFree;
    }

    /** Blocks held by at least one sequence. */
    public int numInUse() {
        return blocks.length - numFree;
    }

    /** Full blocks findable by hash, held or free. */
    public int numCached() {
        return cached.size();
    }

    /** Cached blocks whose contents were dropped to make room, so far. */
    public long evictions() {
        return evictions;
    }

    public KvBlock block(int id) {
        return blocks[id];
    }

    /**
     * Takes {@code n} blocks from the head of the free queue, each with {@code refCnt() == 1}; the
     * caller owns that reference and releases it when its sequence ends or is preempted.
     *
     * @return the blocks, or an empty list when fewer than {@code n} are free (nothing is taken)
     */
    public List<KvBlock> allocate(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative block count " + n);
        }
        if (n > numFree) {
            return List.of();
        }
        List<KvBlock> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            KvBlock b = head.next;
            unlink(b);
            if (b.hash() != null) {
                cached.remove(b.hash(), b);
                b.setHash(null);
                evictions++;
            }
            b.setRefCnt(1);
            out.add(b);
        }
        return out;
    }

    /** The block cached under {@code hash}, held or free, or null. Takes no reference. */
    public KvBlock findCached(BlockHash hash) {
        return cached.get(hash);
    }

    /**
     * Takes a reference on a block found with {@link #findCached}: a free one leaves the free queue
     * (it is no longer evictable), a held one is shared. The caller releases it like any other.
     */
    public KvBlock acquire(KvBlock block) {
        if (block.hash() == null) {
            throw new IllegalStateException("only cached blocks are shared: " + block);
        }
        if (block.refCnt() == 0) {
            unlink(block);
            block.setRefCnt(1);
            return block;
        }
        return block.retain();
    }

    /**
     * Makes a held, fully written block findable under {@code hash}. When another block already
     * holds the same contents, that one stays the cached copy and this one stays uncached (it is
     * still valid for its own sequence).
     *
     * @return whether this block is now the cached copy
     */
    public boolean cache(KvBlock block, BlockHash hash) {
        if (block.refCnt() <= 0) {
            throw new IllegalStateException("caching a free block: " + block);
        }
        if (block.hash() != null) {
            if (block.hash().equals(hash)) {
                return true;
            }
            throw new IllegalStateException("block " + block.id() + " is already cached with other contents");
        }
        if (cached.putIfAbsent(hash, block) != null) {
            return false;
        }
        block.setHash(hash);
        return true;
    }

    void returnToFreeQueue(KvBlock block) {
        if (block.hash() != null) {
            linkBefore(head, block); // tail: the longest-kept prefix contents
        } else {
            linkBefore(head.next, block); // head: nothing of value, reuse first
        }
        numFree++;
    }

    private void unlink(KvBlock b) {
        if (b.prev == null) {
            throw new IllegalStateException("block " + b.id() + " is not in the free queue");
        }
        b.prev.next = b.next;
        b.next.prev = b.prev;
        b.prev = null;
        b.next = null;
        numFree--;
    }

    private static void linkBefore(KvBlock at, KvBlock b) {
        b.prev = at.prev;
        b.next = at;
        at.prev.next = b;
        at.prev = b;
    }
}
