package io.kvasir.engine.sim;

import io.kvasir.engine.RecordWithers;
import org.junit.jupiter.api.Test;

/** Every wither of the simulated engine's configuration changes what it names and keeps the rest. */
class SimulatedConfigWithersTest {

    private static final SimulatedEngine.Config BASE = SimulatedEngine.Config.defaults();

    @Test
    void eachWitherChangesOnlyItsSettings() {
        RecordWithers.assertChangesOnly(BASE, c -> c.withTiming(TimingModel.instant()), "timing");
        RecordWithers.assertChangesOnly(BASE, c -> c.withMaxContext(BASE.maxContext() + 16), "maxContext");
        RecordWithers.assertChangesOnly(BASE, c -> c.withKvBlocks(BASE.kvBlocks() + 1), "kvBlocks");
        RecordWithers.assertChangesOnly(BASE, c -> c.withBlockSize(BASE.blockSize() * 2), "blockSize");
        RecordWithers.assertChangesOnly(BASE, c -> c.withMaxNumSeqs(BASE.maxNumSeqs() + 1), "maxNumSeqs");
        RecordWithers.assertChangesOnly(BASE, c -> c.withMaxBatchTokens(BASE.maxBatchTokens() + 1), "maxBatchTokens");
        RecordWithers.assertChangesOnly(BASE, c -> c.withPrefixCaching(!BASE.prefixCaching()), "prefixCaching");
        RecordWithers.assertChangesOnly(
                BASE, c -> c.withKvBytesPerToken(BASE.kvBytesPerToken() + 1), "kvBytesPerToken");
        RecordWithers.assertChangesOnly(BASE, c -> c.withVirtualClock(!BASE.virtualClock()), "virtualClock");
        RecordWithers.assertChangesOnly(BASE, c -> c.withSeed(BASE.seed() + 1), "seed");
        RecordWithers.assertChangesOnly(
                BASE,
                c -> c.withLongPrefill(BASE.longPrefillThreshold() + 5, 0.75),
                "longPrefillThreshold",
                "longPrefillShare");
    }
}
