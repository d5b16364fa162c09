package io.kvasir.engine;

import io.kvasir.engine.model.KvPrecision;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other option. */
class EngineOptionsWithersTest {

    private static final EngineOptions FULL =
            new EngineOptions(3, KvPrecision.F32, 100, 32, 4096, 1L << 28, 256, 8, true, 300, 0.25, Determinism.OFF);

    @Test
    void eachWitherChangesOnlyItsOption() {
        RecordWithers.assertChangesOnly(FULL, o -> o.withThreads(1), "threads");
        RecordWithers.assertChangesOnly(FULL, o -> o.withKvPrecision(KvPrecision.F16), "kvPrecision");
        RecordWithers.assertChangesOnly(FULL, o -> o.withKvBlocks(50), "kvBlocks");
        RecordWithers.assertChangesOnly(FULL, o -> o.withBlockSize(16), "blockSize");
        RecordWithers.assertChangesOnly(FULL, o -> o.withMaxContext(2048), "maxContext");
        RecordWithers.assertChangesOnly(FULL, o -> o.withKvBytesMax(1L << 29), "kvBytesMax");
        RecordWithers.assertChangesOnly(FULL, o -> o.withMaxBatchTokens(512), "maxBatchTokens");
        RecordWithers.assertChangesOnly(FULL, o -> o.withMaxNumSeqs(4), "maxNumSeqs");
        RecordWithers.assertChangesOnly(FULL, o -> o.withPrefixCaching(false), "prefixCaching");
        RecordWithers.assertChangesOnly(FULL, o -> o.withLongPrefillThreshold(600), "longPrefillThreshold");
        RecordWithers.assertChangesOnly(FULL, o -> o.withLongPrefillShare(0.5), "longPrefillShare");
        RecordWithers.assertChangesOnly(FULL, o -> o.withDeterminism(Determinism.ON), "determinism");
        RecordWithers.assertChangesOnly(FULL, o -> o.withDeterministic(true), "determinism");
    }
}
