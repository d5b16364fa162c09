package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BenchEngineBatchTokensTest {

    @Test
    void everyPromptOfTheBatchFitsOneStep() {
        assertThat(BenchEngineCommand.batchTokens(128, 16)).isEqualTo(16 * 128);
        assertThat(BenchEngineCommand.batchTokens(16, 1)).isEqualTo(16);
    }

    @Test
    void aLongPromptStillFitsOneStepAlone() {
        assertThat(BenchEngineCommand.batchTokens(10_000, 1)).isEqualTo(10_000);
        assertThat(BenchEngineCommand.batchTokens(4096, 4)).isEqualTo(4096);
    }

    @Test
    void theBudgetIsCappedButNeverBelowOneTokenASequence() {
        assertThat(BenchEngineCommand.batchTokens(512, 16)).isEqualTo(BenchEngineCommand.MAX_BATCH_TOKENS);
        assertThat(BenchEngineCommand.batchTokens(512, 64)).isEqualTo(BenchEngineCommand.MAX_BATCH_TOKENS);
        assertThat(BenchEngineCommand.batchTokens(1, 64)).isEqualTo(64);
    }
}
