package io.kvasir.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every wither of the simulated engine's configuration changes what it names and keeps the rest. */
class SimulatedConfigWithersTest {

    private static final SimulatedEngine.Config BASE = SimulatedEngine.Config.defaults();

    @Test
    void eachWitherChangesOnlyItsSettings() throws Exception {
        check(c -> c.withTiming(TimingModel.instant()), "timing");
        check(c -> c.withMaxContext(BASE.maxContext() + 16), "maxContext");
        check(c -> c.withKvBlocks(BASE.kvBlocks() + 1), "kvBlocks");
        check(c -> c.withBlockSize(BASE.blockSize() * 2), "blockSize");
        check(c -> c.withMaxNumSeqs(BASE.maxNumSeqs() + 1), "maxNumSeqs");
        check(c -> c.withMaxBatchTokens(BASE.maxBatchTokens() + 1), "maxBatchTokens");
        check(c -> c.withPrefixCaching(!BASE.prefixCaching()), "prefixCaching");
        check(c -> c.withKvBytesPerToken(BASE.kvBytesPerToken() + 1), "kvBytesPerToken");
        check(c -> c.withVirtualClock(!BASE.virtualClock()), "virtualClock");
        check(c -> c.withSeed(BASE.seed() + 1), "seed");
        check(
                c -> c.withLongPrefill(BASE.longPrefillThreshold() + 5, 0.75),
                "longPrefillThreshold",
                "longPrefillShare");
    }

    private static void check(UnaryOperator<SimulatedEngine.Config> wither, String... changed) throws Exception {
        SimulatedEngine.Config copy = wither.apply(BASE);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : SimulatedEngine.Config.class.getRecordComponents()) {
            Object before = c.getAccessor().invoke(BASE);
            Object after = c.getAccessor().invoke(copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isEqualTo(before);
            }
        }
    }
}
