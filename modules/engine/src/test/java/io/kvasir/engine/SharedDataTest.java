package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class SharedDataTest {

    private static final Map<String, String> DEVELOPER = Map.of();
    private static final Map<String, String> CI = Map.of("CI", "true");

    @TempDir
    Path dir;

    @Test
    void aPresentFileIsReturnedEverywhere() throws IOException {
        Path f = Files.writeString(dir.resolve("model.gguf"), "x");
        assertThat(SharedData.require(f, DEVELOPER)).isEqualTo(f);
        assertThat(SharedData.require(f, CI)).isEqualTo(f);
    }

    @Test
    void aMissingFileSkipsOnADevelopersMachineWithThePathAsReason() {
        Path missing = dir.resolve("models/absent.gguf");
        assertThatThrownBy(() -> SharedData.require(missing, DEVELOPER))
                .isInstanceOf(TestAbortedException.class)
                .hasMessageContaining(missing.toString())
                .hasMessageContaining("skipped");
        assertThatThrownBy(() -> SharedData.require(missing, Map.of("CI", "false")))
                .isInstanceOf(TestAbortedException.class);
    }

    @Test
    void aMissingFileFailsUnderCiNamingThePath() {
        Path missing = dir.resolve("peers/vocab/absent.gguf.inp");
        assertThatThrownBy(() -> SharedData.require(missing, CI))
                .isInstanceOf(AssertionFailedError.class)
                .hasMessageContaining("shared test data missing: " + missing)
                .hasMessageContaining("CI=true");
    }

    @Test
    void ciIsRecognisedAsCiSystemsSpellIt() {
        assertThat(SharedData.isCi(Map.of("CI", "true"))).isTrue();
        assertThat(SharedData.isCi(Map.of("CI", "TRUE"))).isTrue();
        assertThat(SharedData.isCi(Map.of("CI", "true\n"))).isTrue();
        assertThat(SharedData.isCi(Map.of("CI", "false"))).isFalse();
        assertThat(SharedData.isCi(Map.of("CI", ""))).isFalse();
        assertThat(SharedData.isCi(Map.of())).isFalse();
    }
}
