package io.kvasir.engine.kv;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which blocks each live sequence holds (its block table) and the prefix cache over them.
 *
 * <p>Lifetimes: a sequence's table holds one reference on each of its blocks. The references are
 * taken in {@link #allocateSlots} (fresh blocks, and cached prefix blocks found at its start) and
 * dropped all at once in {@link #free}, when the request finishes, is aborted, or is preempted.
 * After that its full blocks live on in the pool only as evictable cached contents.
 *
 * <p>A block becomes cached in {@link #cacheFullBlocks} once the model has written all its slots,
 * never earlier, so a failed forward pass cannot leave a hash pointing at unwritten KV.
 *
 * <p>Scopes: every lookup and every caching call names the {@link BlockHash#root root} of the
 * sequence's cache scope (null: the shared scope), and its hash chain starts there. Sequences in
 * different scopes therefore never share a block, even for equal tokens.
 *
 * <p>Sliding windows: when every layer of the model sees only the last {@code slidingWindow}
 * positions (Mistral-style), {@link #releaseOutOfWindow} gives back a live sequence's blocks that
 * no later position can attend to; its table keeps a hole there ({@code -1} in
 * {@link #blockTable}). A released block that was already hashed stays cached: its keys and values
 * are still those of its prefix, so another sequence may start from it. A block released before it
 * was hashed ends the sequence's hash chain, so no later block of that sequence is ever registered
 * under a chain with a block missing. Models with any global layer never release early (that
 * layer still reads every block), and neither does a window of 0.
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final int blockSize;
    private final int slidingWindow;
    private final Map<String, Table> tables = new HashMap<>();

    public KvCacheManager(BlockPool pool, int blockSize) {
        this(pool, blockSize, 0);
    }

    /** A manager for a model whose every layer attends to the last {@code slidingWindow} positions (0: all). */
    public KvCacheManager(BlockPool pool, int blockSize, int slidingWindow) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive, got " + blockSize);
        }
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding window must not be negative, got " + slidingWindow);
        }
        this.pool = pool;
        this.blockSize = blockSize;
        this.slidingWindow = slidingWindow;
    }

    /** A cached prefix found for a sequence about to start; no references are taken until it is allocated. */
    public record CachedPrefix(List<KvBlock> blocks, int numTokens) {
        public static final CachedPrefix NONE = new CachedPrefix(List.of(), 0);
    }

    private static final class Table {
        final List<KvBlock> blocks = new ArrayList<>();
        /** Leading blocks already hashed; their hashes chain from one to the next. */
        int numHashed;
        /** Hash of block {@code numHashed - 1}: the parent of the next one. */
        BlockHash lastHash;
        /** Leading blocks released because they fell out of the window; their entries are null. */
        int numReleased;
        /** Set when a block was released unhashed: no later block can join the hash chain. */
        boolean chainEnded;
    }

    public int blockSize() {
        return blockSize;
    }

    public BlockPool pool() {
        return pool;
    }

    /** Blocks needed to hold {@code numTokens} slots. */
    public int blocksFor(int numTokens) {
        return (numTokens + blockSize - 1) / blockSize;
    }

    /**
     * The cached full blocks of scope {@code root} a new sequence over {@code tokens[0 .. length)}
     * can start from. The last token is never covered: the model must compute at least one position
     * to give logits.
     */
    public CachedPrefix findCachedPrefix(BlockHash root, int[] tokens, int length) {
        return lookup(root, tokens, (length - 1) / blockSize);
    }

    /**
     * Tokens of {@code tokens[0 .. length)} covered by cached full blocks of scope {@code root}, the
     * whole sequence allowed.
     */
    public CachedPrefix findCached(BlockHash root, int[] tokens, int length) {
        return lookup(root, tokens, length / blockSize);
    }

    private CachedPrefix lookup(BlockHash root, int[] tokens, int maxBlocks) {
        List<KvBlock> hits = new ArrayList<>();
        BlockHash parent = root;
        for (int b = 0; b < maxBlocks; b++) {
            KvBlock block = pool.findCached(BlockHash.of(parent, tokens, b * blockSize, (b + 1) * blockSize));
            if (block == null) {
                break;
            }
            hits.add(block);
            parent = block.hash(); // the stored instance: the next lookup compares parents by identity
        }
        return hits.isEmpty() ? CachedPrefix.NONE : new CachedPrefix(List.copyOf(hits), hits.size() * blockSize);
    }

    /**
     * Makes room for {@code numNewTokens} more slots of sequence {@code id}, which has
     * {@code numComputedTokens} computed. A sequence that starts passes the cached prefix it starts
     * from ({@code numComputedTokens == prefix.numTokens()}); its blocks are shared, not copied.
     *
     * @return false, with nothing changed, when the pool has too few free blocks
     */
    public boolean allocateSlots(String id, int numComputedTokens, int numNewTokens, CachedPrefix prefix) {
        if (numNewTokens <= 0) {
            throw new IllegalArgumentException("allocating " + numNewTokens + " slots for " + id);
        }
        Table table = tables.get(id);
        int held = table == null ? 0 : table.blocks.size();
        if (!prefix.blocks().isEmpty() && held > 0) {
            throw new IllegalStateException(
                    "sequence " + id + " already holds blocks; a cached prefix only starts one");
        }
        int have = held + prefix.blocks().size();
        int need = blocksFor(numComputedTokens + numNewTokens) - have;
        // Reviving a free cached block takes it out of the free queue too.
        int revived = 0;
        for (KvBlock b : prefix.blocks()) {
            if (b.refCnt() == 0) {
                revived++;
            }
        }
        if (Math.max(need, 0) + revived > pool.numFree()) {
            return false;
        }
        if (table == null) {
            table = new Table();
            tables.put(id, table);
        }
        for (KvBlock b : prefix.blocks()) {
            table.blocks.add(pool.acquire(b));
        }
        if (!prefix.blocks().isEmpty()) {
            table.numHashed = table.blocks.size(); // prefix blocks are cached already
            table.lastHash = prefix.blocks().getLast().hash();
        }
        if (need > 0) {
            table.blocks.addAll(pool.allocate(need));
        }
        return true;
    }

    /**
     * Registers the full blocks of sequence {@code id} that its first {@code numComputedTokens}
     * tokens now fill, so later sequences of scope {@code root} with the same prefix can share them.
     * A sequence passes the same root on every call (and the one it looked its prefix up with).
     */
    public void cacheFullBlocks(String id, BlockHash root, int[] tokens, int numComputedTokens) {
        Table table = tables.get(id);
        if (table == null) {
            return;
        }
        if (table.chainEnded) {
            return;
        }
        int full = Math.min(numComputedTokens / blockSize, table.blocks.size());
        for (int b = table.numHashed; b < full; b++) {
            BlockHash parent = b == 0 ? root : table.lastHash;
            BlockHash hash = BlockHash.of(parent, tokens, b * blockSize, (b + 1) * blockSize);
            KvBlock block = table.blocks.get(b);
            if (!pool.cache(block, hash)) {
                // An equal block is cached already (another sequence computed the same prefix).
                // This one stays private; the chain goes on from the cached instance.
                hash = pool.findCached(hash).hash();
            }
            table.lastHash = hash;
            table.numHashed = b + 1;
        }
    }

    /** The block ids of sequence {@code id}, in position order (empty when it holds none). */
    public int[] blockTable(String id) {
        Table table = tables.get(id);
        if (table == null) {
            return new int[0];
        }
        int[] ids = new int[table.blocks.size()];
        for (int i = 0; i < ids.length; i++) {
            KvBlock b = table.blocks.get(i);
            ids[i] = b == null ? -1 : b.id();
        }
        return ids;
    }

    public int numBlocksHeld(String id) {
        Table table = tables.get(id);
        return table == null ? 0 : table.blocks.size() - table.numReleased;
    }

    /** The window this manager releases blocks for; 0 when it never does. */
    public int slidingWindow() {
        return slidingWindow;
    }

    /**
     * After sequence {@code id} has {@code numComputedTokens} computed, releases its blocks that lie
     * wholly before the window of the next position it will compute ({@code numComputedTokens}),
     * which sees positions from {@code numComputedTokens - slidingWindow + 1} on. No-op without a
     * window.
     *
     * @return how many blocks were released
     */
    public int releaseOutOfWindow(String id, int numComputedTokens) {
        Table table = tables.get(id);
        if (slidingWindow == 0 || table == null) {
            return 0;
        }
        int firstSeen = Math.max(0, numComputedTokens - slidingWindow + 1);
        int dead = Math.min(firstSeen / blockSize, table.blocks.size());
        int released = 0;
        for (int b = table.numReleased; b < dead; b++) {
            if (b >= table.numHashed) {
                table.chainEnded = true;
            }
            table.blocks.set(b, null).release();
            released++;
        }
        table.numReleased = Math.max(table.numReleased, dead);
        return released;
    }

    /**
     * Releases every block of sequence {@code id} at once. The last blocks are released first, so
     * they reach the free queue's tail first and are evicted before the shared early blocks.
     */
    public void free(String id) {
        Table table = tables.remove(id);
        if (table == null) {
            return;
        }
        for (int i = table.blocks.size() - 1; i >= table.numReleased; i--) {
            table.blocks.get(i).release();
        }
    }

    /** Fraction of blocks held by live sequences. */
    public double usage() {
        return (double) pool.numInUse() / pool.numBlocks();
    }
}
