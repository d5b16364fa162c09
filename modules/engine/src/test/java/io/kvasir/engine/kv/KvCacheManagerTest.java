package io.kvasir.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.kv.KvCacheManager.CachedPrefix;
import org.junit.jupiter.api.Test;

class KvCacheManagerTest {

    private static final int[] TOKENS = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

    @Test
    void allocatesBlocksAsTheSequenceGrows() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(4), 4);
        assertThat(kv.allocateSlots("a", 0, 5, CachedPrefix.NONE)).isTrue();
        assertThat(kv.blockTable("a")).hasSize(2);
        assertThat(kv.allocateSlots("a", 5, 3, CachedPrefix.NONE)).isTrue(); // fits in block 2
        assertThat(kv.blockTable("a")).hasSize(2);
        assertThat(kv.allocateSlots("a", 8, 1, CachedPrefix.NONE)).isTrue();
        assertThat(kv.blockTable("a")).hasSize(3);
    }

    @Test
    void failedAllocationChangesNothing() {
        BlockPool pool = new BlockPool(3);
        KvCacheManager kv = new KvCacheManager(pool, 4);
        assertThat(kv.allocateSlots("a", 0, 8, CachedPrefix.NONE)).isTrue();
        assertThat(kv.allocateSlots("b", 0, 8, CachedPrefix.NONE)).isFalse();
        assertThat(kv.blockTable("b")).isEmpty();
        assertThat(pool.numFree()).isEqualTo(1);
        kv.free("a");
        assertThat(pool.numFree()).isEqualTo(3);
        assertThat(kv.usage()).isZero();
    }

    @Test
    void sharedPrefixBlocksAreCountedOncePerHolder() {
        BlockPool pool = new BlockPool(8);
        KvCacheManager kv = new KvCacheManager(pool, 4);
        assertThat(kv.allocateSlots("a", 0, 12, CachedPrefix.NONE)).isTrue();
        kv.cacheFullBlocks("a", null, TOKENS, 12);

        CachedPrefix hit = kv.findCachedPrefix(null, TOKENS, 12);
        assertThat(hit.numTokens()).as("never the whole prompt").isEqualTo(8);
        assertThat(kv.findCached(null, TOKENS, 12).numTokens()).isEqualTo(12);
        assertThat(kv.allocateSlots("b", 8, 4, hit)).isTrue();
        int[] a = kv.blockTable("a");
        int[] b = kv.blockTable("b");
        assertThat(b[0]).isEqualTo(a[0]);
        assertThat(b[1]).isEqualTo(a[1]);
        assertThat(b[2]).isNotEqualTo(a[2]);
        assertThat(pool.block(a[0]).refCnt()).isEqualTo(2);

        kv.free("a");
        assertThat(pool.block(a[0]).refCnt()).isEqualTo(1);
        assertThat(pool.numInUse()).isEqualTo(3);
        kv.free("b");
        assertThat(pool.numInUse()).isZero();
        // Freed, but the prefix stays findable until its blocks are reused.
        assertThat(kv.findCached(null, TOKENS, 12).numTokens()).isEqualTo(12);
    }

    @Test
    void onlyComputedFullBlocksAreCached() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(8), 4);
        kv.allocateSlots("a", 0, 12, CachedPrefix.NONE);
        kv.cacheFullBlocks("a", null, TOKENS, 7);
        assertThat(kv.findCached(null, TOKENS, 12).numTokens()).isEqualTo(4);
        kv.cacheFullBlocks("a", null, TOKENS, 12);
        assertThat(kv.findCached(null, TOKENS, 12).numTokens()).isEqualTo(12);
        int[] other = TOKENS.clone();
        other[5] = 99;
        assertThat(kv.findCached(null, other, 12).numTokens()).isEqualTo(4);
    }

    @Test
    void revivingFreeCachedBlocksCountsAgainstFreeSpace() {
        BlockPool pool = new BlockPool(3);
        KvCacheManager kv = new KvCacheManager(pool, 4);
        kv.allocateSlots("a", 0, 12, CachedPrefix.NONE);
        kv.cacheFullBlocks("a", null, TOKENS, 12);
        kv.free("a");
        CachedPrefix hit = kv.findCachedPrefix(null, TOKENS, 12);
        assertThat(hit.blocks()).hasSize(2);
        // 2 revived + 2 new > 3 free
        assertThat(kv.allocateSlots("b", 8, 8, hit)).isFalse();
        assertThat(pool.numFree()).isEqualTo(3);
        assertThat(kv.allocateSlots("b", 8, 4, hit)).isTrue();
        assertThat(pool.numFree()).isZero();
    }

    @Test
    void equalTokensInDifferentScopesShareNoBlock() {
        BlockPool pool = new BlockPool(12);
        KvCacheManager kv = new KvCacheManager(pool, 4);
        BlockHash a = BlockHash.root("a");
        BlockHash b = BlockHash.root("b");
        assertThat(kv.allocateSlots("x", 0, 12, kv.findCachedPrefix(a, TOKENS, 12)))
                .isTrue();
        kv.cacheFullBlocks("x", a, TOKENS, 12);

        assertThat(kv.findCached(a, TOKENS, 12).numTokens()).isEqualTo(12);
        assertThat(kv.findCached(BlockHash.root("a"), TOKENS, 12).numTokens()).isEqualTo(12);
        assertThat(kv.findCached(b, TOKENS, 12).numTokens()).isZero();
        assertThat(kv.findCached(null, TOKENS, 12).numTokens()).isZero();

        // Scope b computes the same tokens into blocks of its own, and caches them apart.
        CachedPrefix none = kv.findCachedPrefix(b, TOKENS, 12);
        assertThat(none.blocks()).isEmpty();
        assertThat(kv.allocateSlots("y", 0, 12, none)).isTrue();
        kv.cacheFullBlocks("y", b, TOKENS, 12);
        assertThat(kv.blockTable("y")).doesNotContain(kv.blockTable("x"));
        assertThat(pool.numCached()).isEqualTo(6);
        assertThat(kv.findCached(b, TOKENS, 12).blocks())
                .extracting(KvBlock::id)
                .containsExactly(kv.blockTable("y")[0], kv.blockTable("y")[1], kv.blockTable("y")[2]);

        // A second sequence of scope a shares a's blocks only.
        CachedPrefix hitA = kv.findCachedPrefix(a, TOKENS, 12);
        assertThat(kv.allocateSlots("z", 8, 4, hitA)).isTrue();
        assertThat(kv.blockTable("z")[0]).isEqualTo(kv.blockTable("x")[0]);
        assertThat(kv.blockTable("z")).doesNotContain(kv.blockTable("y"));

        kv.free("x");
        kv.free("y");
        kv.free("z");
        assertThat(pool.numInUse()).isZero();
        assertThat(pool.numFree()).isEqualTo(12);
    }

    @Test
    void brokenCallsThrow() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(8), 4);
        assertThatThrownBy(() -> kv.allocateSlots("a", 0, 0, CachedPrefix.NONE))
                .isInstanceOf(IllegalArgumentException.class);
        kv.allocateSlots("a", 0, 12, CachedPrefix.NONE);
        kv.cacheFullBlocks("a", null, TOKENS, 12);
        CachedPrefix hit = kv.findCachedPrefix(null, TOKENS, 12);
        assertThatThrownBy(() -> kv.allocateSlots("a", 12, 1, hit)).isInstanceOf(IllegalStateException.class);
    }
}
