package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FileTypesTest {

    @Test
    void namesAreLlamaCppsAndRetiredNumbersHaveNone() {
        assertThat(FileTypes.name(15)).contains("Q4_K_M");
        assertThat(FileTypes.name(17)).contains("Q5_K_M");
        assertThat(FileTypes.name(8)).contains("Q5_0");
        assertThat(FileTypes.name(32)).contains("BF16");
        assertThat(FileTypes.name(4)).isEmpty(); // Q4_1_SOME_F16, retired
        assertThat(FileTypes.name(-1)).isEmpty();
        assertThat(FileTypes.name(1024)).isEmpty(); // "guessed": not a type
        assertThat(FileTypes.name(1L << 40)).isEmpty();
    }
}
