package io.kvasir.engine.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.kv.KvCacheManager.CachedPrefix;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Blocks that fall out of a sliding window go back to the pool, without breaking prefix caching. */
class WindowReleaseTest {

    private static final int[] TOKENS = IntStream.rangeClosed(1, 40).toArray();

    @Test
    void blocksBeforeTheNextPositionsWindowAreReleased() {
        BlockPool pool = new BlockPool(10);
        KvCacheManager kv = new KvCacheManager(pool, 4, 6);
        assertThat(kv.allocateSlots("a", 0, 12, CachedPrefix.NONE)).isTrue();
        // Position 12 comes next and sees 7..12: block 0 (0..3) is dead, block 1 (4..7) is not.
        assertThat(kv.releaseOutOfWindow("a", 12)).isEqualTo(1);
        assertThat(kv.blockTable("a")).startsWith(-1).doesNotContain(-2);
        assertThat(kv.blockTable("a")[1]).isNotNegative();
        assertThat(kv.numBlocksHeld("a")).isEqualTo(2);
        assertThat(pool.numInUse()).isEqualTo(2);
        assertThat(kv.releaseOutOfWindow("a", 12)).as("released once").isZero();
        // Growing keeps the table's positions: the new block lands at index 3.
        assertThat(kv.allocateSlots("a", 12, 4, CachedPrefix.NONE)).isTrue();
        assertThat(kv.blockTable("a")).hasSize(4);
        assertThat(kv.releaseOutOfWindow("a", 16)).isEqualTo(1);
        kv.free("a");
        assertThat(pool.numInUse()).isZero();
    }

    @Test
    void withoutAWindowNothingIsReleased() {
        BlockPool pool = new BlockPool(10);
        KvCacheManager kv = new KvCacheManager(pool, 4);
        kv.allocateSlots("a", 0, 40, CachedPrefix.NONE);
        assertThat(kv.releaseOutOfWindow("a", 40)).isZero();
        assertThat(pool.numInUse()).isEqualTo(10);
    }

    @Test
    void hashedBlocksStayCachedAfterReleaseAndServeTheSamePrefix() {
        BlockPool pool = new BlockPool(10);
        KvCacheManager kv = new KvCacheManager(pool, 4, 4);
        kv.allocateSlots("a", 0, 12, CachedPrefix.NONE);
        int[] before = kv.blockTable("a");
        kv.cacheFullBlocks("a", null, TOKENS, 12);
        kv.releaseOutOfWindow("a", 12);
        assertThat(kv.blockTable("a")[0]).isEqualTo(-1);
        // Released but hashed: its contents are still the prefix's, so a new sequence may start from it.
        CachedPrefix hit = kv.findCachedPrefix(null, TOKENS, 13);
        assertThat(hit.numTokens()).isEqualTo(12);
        assertThat(hit.blocks().getFirst().id()).isEqualTo(before[0]);
    }

    @Test
    void aBlockReleasedBeforeItWasHashedEndsTheChain() {
        BlockPool pool = new BlockPool(10);
        KvCacheManager kv = new KvCacheManager(pool, 4, 4);
        kv.allocateSlots("a", 0, 12, CachedPrefix.NONE);
        // Released with prefix caching not yet run on it (e.g. caching off, then turned on).
        kv.releaseOutOfWindow("a", 12);
        // Another sequence takes the released block and writes its own contents there.
        kv.allocateSlots("b", 0, 28, CachedPrefix.NONE);
        kv.cacheFullBlocks("a", null, TOKENS, 12);
        // Nothing of a may be found: its chain lacks block 0, and b's block is not a's block 0.
        assertThat(kv.findCachedPrefix(null, TOKENS, 13).numTokens()).isZero();
        assertThat(pool.numCached()).isZero();
    }
}
