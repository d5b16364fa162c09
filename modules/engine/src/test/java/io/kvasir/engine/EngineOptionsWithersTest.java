package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.model.KvPrecision;
import java.lang.reflect.RecordComponent;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other option. */
class EngineOptionsWithersTest {

    private static final EngineOptions FULL =
            new EngineOptions(3, KvPrecision.F32, 100, 32, 4096, 1L << 28, 256, 8, true, 300, 0.25, Determinism.OFF);

    @Test
    void eachWitherChangesOnlyItsOption() throws Exception {
        check(o -> o.withThreads(1), "threads");
        check(o -> o.withKvPrecision(KvPrecision.F16), "kvPrecision");
        check(o -> o.withKvBlocks(50), "kvBlocks");
        check(o -> o.withBlockSize(16), "blockSize");
        check(o -> o.withMaxContext(2048), "maxContext");
        check(o -> o.withKvBytesMax(1L << 29), "kvBytesMax");
        check(o -> o.withMaxBatchTokens(512), "maxBatchTokens");
        check(o -> o.withMaxNumSeqs(4), "maxNumSeqs");
        check(o -> o.withPrefixCaching(false), "prefixCaching");
        check(o -> o.withLongPrefillThreshold(600), "longPrefillThreshold");
        check(o -> o.withLongPrefillShare(0.5), "longPrefillShare");
        check(o -> o.withDeterminism(Determinism.ON), "determinism");
        check(o -> o.withDeterministic(true), "determinism");
    }

    private static void check(UnaryOperator<EngineOptions> wither, String... changed) throws Exception {
        EngineOptions copy = wither.apply(FULL);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : EngineOptions.class.getRecordComponents()) {
            Object before = c.getAccessor().invoke(FULL);
            Object after = c.getAccessor().invoke(copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isEqualTo(before);
            }
        }
    }
}
