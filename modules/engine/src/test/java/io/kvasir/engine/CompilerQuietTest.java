package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

class CompilerQuietTest {

    @Test
    void compilerThreadsAreFoundAndTheirTimeOnlyGrows() throws Exception {
        assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "reads /proc");
        long before = CompilerQuiet.compilerTicks();
        assertThat(before).isGreaterThanOrEqualTo(0);
        double sink = 0;
        for (int i = 0; i < 2_000_000; i++) {
            sink += Math.sqrt(i) * (i & 7);
        }
        assertThat(sink).isPositive();
        assertThat(CompilerQuiet.compilerTicks()).isGreaterThanOrEqualTo(before);
    }

    @Test
    void aQuietJvmReturnsWithinAFewWindowsAndTheLimitHolds() {
        long waited = CompilerQuiet.await(50, 2_000);
        assertThat(waited).isBetween(40L, 2_500L);
        assertThat(CompilerQuiet.await(50, 0)).isLessThan(500L);
    }
}
