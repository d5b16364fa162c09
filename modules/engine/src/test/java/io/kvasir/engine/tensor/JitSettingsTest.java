package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JitSettingsTest {

    @Test
    void onlyATieredJvmWithTheDefaultDelayIsMissingTheFlag() {
        assertThat(JitSettings.missing(Optional.of("true"), Optional.of("5"))).isTrue();
        assertThat(JitSettings.missing(Optional.of("true"), Optional.of("100000")))
                .isFalse();
        assertThat(JitSettings.missing(Optional.of("false"), Optional.of("5"))).isFalse();
        assertThat(JitSettings.missing(Optional.empty(), Optional.of("5"))).isFalse();
        assertThat(JitSettings.missing(Optional.of("true"), Optional.of("not a number")))
                .isFalse();
    }

    @Test
    void theTestJvmRunsWithTheFlagAsTheLauncherDoes() {
        var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
        assertThat(bean.getVMOption("Tier3DelayOn").getValue()).isEqualTo("100000");
    }
}
