package io.kvasir.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private static BlockHash hash(BlockHash parent, int... tokens) {
        return BlockHash.of(parent, tokens, 0, tokens.length);
    }

    @Test
    void allocatesUntilEmptyThenReturnsNothing() {
        BlockPool pool = new BlockPool(4);
        List<KvBlock> three = pool.allocate(3);
        assertThat(three).extracting(KvBlock::id).containsExactly(0, 1, 2);
        assertThat(three).allSatisfy(b -> assertThat(b.refCnt()).isEqualTo(1));
        assertThat(pool.allocate(2)).isEmpty();
        assertThat(pool.numFree()).isEqualTo(1); // a failed allocation takes nothing
        assertThat(pool.allocate(1)).extracting(KvBlock::id).containsExactly(3);
        assertThat(pool.numInUse()).isEqualTo(4);
        three.getFirst().release();
        assertThat(pool.numFree()).isEqualTo(1);
    }

    @Test
    void referenceCountsFollowRetainAndRelease() {
        BlockPool pool = new BlockPool(2);
        KvBlock b = pool.allocate(1).getFirst();
        b.retain();
        assertThat(b.refCnt()).isEqualTo(2);
        assertThat(b.release()).isFalse();
        assertThat(pool.numFree()).isEqualTo(1);
        assertThat(b.release()).isTrue();
        assertThat(pool.numFree()).isEqualTo(2);
        assertThatThrownBy(b::release).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(b::retain).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void releasedCachedBlockStaysFindableUntilReused() {
        BlockPool pool = new BlockPool(3);
        List<KvBlock> blocks = pool.allocate(3);
        BlockHash h = hash(null, 1, 2, 3, 4);
        assertThat(pool.cache(blocks.get(0), h)).isTrue();
        blocks.get(0).release(); // cached: to the tail
        blocks.get(1).release(); // uncached: to the head
        assertThat(pool.findCached(hash(null, 1, 2, 3, 4))).isSameAs(blocks.get(0));

        // The uncached block is reused first; the cached one survives.
        assertThat(pool.allocate(1).getFirst()).isSameAs(blocks.get(1));
        assertThat(pool.findCached(h)).isSameAs(blocks.get(0));

        // Reviving it takes it out of the free queue.
        KvBlock revived = pool.acquire(pool.findCached(h));
        assertThat(revived.refCnt()).isEqualTo(1);
        assertThat(pool.numFree()).isZero();
        revived.release();

        // Now it is the only free block: the next allocation evicts it and forgets the hash.
        KvBlock reused = pool.allocate(1).getFirst();
        assertThat(reused).isSameAs(blocks.get(0));
        assertThat(reused.hash()).isNull();
        assertThat(pool.findCached(h)).isNull();
        assertThat(pool.evictions()).isEqualTo(1);
    }

    @Test
    void leastRecentlyReleasedCachedBlockIsEvictedFirst() {
        BlockPool pool = new BlockPool(3);
        List<KvBlock> blocks = pool.allocate(3);
        for (int i = 0; i < 3; i++) {
            pool.cache(blocks.get(i), hash(null, i));
        }
        blocks.get(2).release();
        blocks.get(0).release();
        blocks.get(1).release();
        assertThat(pool.allocate(1).getFirst()).isSameAs(blocks.get(2));
        assertThat(pool.allocate(1).getFirst()).isSameAs(blocks.get(0));
        assertThat(pool.findCached(hash(null, 1))).isSameAs(blocks.get(1));
    }

    @Test
    void secondBlockWithTheSameContentsStaysPrivate() {
        BlockPool pool = new BlockPool(2);
        List<KvBlock> blocks = pool.allocate(2);
        assertThat(pool.cache(blocks.get(0), hash(null, 7, 7))).isTrue();
        assertThat(pool.cache(blocks.get(1), hash(null, 7, 7))).isFalse();
        assertThat(blocks.get(1).hash()).isNull();
        assertThat(pool.findCached(hash(null, 7, 7))).isSameAs(blocks.get(0));
        assertThatThrownBy(() -> pool.acquire(blocks.get(1))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void hashesChainThroughTheParentAndCompareTokens() {
        BlockHash a = hash(null, 1, 2);
        BlockHash b = hash(null, 1, 2);
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(hash(a, 3, 4)).isEqualTo(hash(b, 3, 4));
        // Same block tokens after a different prefix: different KV.
        assertThat(hash(hash(null, 9, 9), 3, 4)).isNotEqualTo(hash(a, 3, 4));
        assertThat(hash(a, 3, 4).value())
                .isNotEqualTo(hash(hash(null, 9, 9), 3, 4).value());
        assertThat(hash(null, 3, 4)).isNotEqualTo(hash(a, 3, 4));
        assertThat(hash(null, 1, 2)).isNotEqualTo(hash(null, 2, 1));
        assertThat(BlockHash.chain(null, new int[] {1, 2, 3, 4, 5}, 5, 2)).containsExactly(a, hash(a, 3, 4));
    }

    @Test
    void theSharedScopeKeepsTheHashesItHadBeforeScopes() {
        assertThat(BlockHash.root(null)).isNull();
        assertThat(BlockHash.root("")).isNull();
        // Values computed before scopes existed: a chain in the shared scope must not move, or
        // every 64-bit index keyed on them would too.
        BlockHash first = hash(null, 1, 2, 3, 4);
        assertThat(first.value()).isEqualTo(0xb511320e5de00112L);
        assertThat(hash(first, 5, 6, 7, 8).value()).isEqualTo(0x1d3da0d2ddaa05c9L);
    }

    @Test
    void scopesRootTheirChainsApart() {
        BlockHash rootA = BlockHash.root("tenant-a");
        assertThat(rootA).isEqualTo(BlockHash.root("tenant-a")).hasSameHashCodeAs(BlockHash.root("tenant-a"));
        assertThat(rootA).isNotEqualTo(BlockHash.root("tenant-b"));
        assertThat(rootA.parent()).isNull();

        BlockHash inA = hash(rootA, 1, 2);
        assertThat(inA).isEqualTo(hash(BlockHash.root("tenant-a"), 1, 2));
        assertThat(inA).isNotEqualTo(hash(null, 1, 2));
        assertThat(inA).isNotEqualTo(hash(BlockHash.root("tenant-b"), 1, 2));
        assertThat(hash(inA, 3, 4)).isNotEqualTo(hash(hash(null, 1, 2), 3, 4));
        assertThat(BlockHash.chain(rootA, new int[] {1, 2, 3, 4}, 4, 2)).containsExactly(inA, hash(inA, 3, 4));
    }

    @Test
    void aBlockOfTokensIsNeverARoot() throws Exception {
        // The shared scope's first block of eight tokens equal to a scope's digest words, even with
        // the root's 64-bit value, stays apart from the root: the root's tokens carry a mark no
        // vocabulary id has.
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                .digest("tenant-a".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        int[] words = new int[8];
        java.nio.ByteBuffer.wrap(digest).asIntBuffer().get(words);
        BlockHash root = BlockHash.root("tenant-a");
        assertThat(BlockHash.withValue(root.value(), null, words)).isNotEqualTo(root);
        assertThat(hash(BlockHash.withValue(root.value(), null, words), 1, 2)).isNotEqualTo(hash(root, 1, 2));
    }

    @Test
    void colliding64BitValuesNeverShareKv() {
        BlockPool pool = new BlockPool(2);
        KvBlock b = pool.allocate(1).getFirst();
        BlockHash stored = BlockHash.withValue(42L, null, new int[] {1, 2, 3, 4});
        pool.cache(b, stored);
        assertThat(pool.findCached(BlockHash.withValue(42L, null, new int[] {1, 2, 3, 5})))
                .isNull();
        assertThat(pool.findCached(BlockHash.withValue(42L, null, new int[] {1, 2, 3, 4})))
                .isSameAs(b);
        // Same value and tokens, but after a different parent: still different KV.
        BlockHash parentA = BlockHash.withValue(7L, null, new int[] {9});
        BlockHash parentB = BlockHash.withValue(7L, null, new int[] {8});
        KvBlock child = pool.allocate(1).getFirst();
        pool.cache(child, BlockHash.withValue(43L, parentA, new int[] {5}));
        assertThat(pool.findCached(BlockHash.withValue(43L, parentB, new int[] {5})))
                .isNull();
        assertThat(pool.findCached(
                        BlockHash.withValue(43L, BlockHash.withValue(7L, null, new int[] {9}), new int[] {5})))
                .isSameAs(child);
    }

    @Test
    void refusesAnEmptyPool() {
        assertThatThrownBy(() -> new BlockPool(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
