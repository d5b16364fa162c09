package io.kvasir.fabric.external;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class EngineFiguresTest {

    @Test
    void llamaCppMetricsGiveItsRunningAndDeferredRequests() {
        EngineFigures f = EngineFigures.parse("""
                # HELP llamacpp:requests_processing Number of requests processing.
                # TYPE llamacpp:requests_processing gauge
                llamacpp:requests_processing 3
                llamacpp:requests_deferred 2
                llamacpp:prompt_tokens_total 1200
                llamacpp:tokens_predicted_total 640
                """);

        assertThat(f.engine()).isEqualTo("llamacpp");
        assertThat(f.running()).isEqualTo(3);
        assertThat(f.waiting()).isEqualTo(2);
        assertThat(f.promptTokens()).isEqualTo(1200);
        assertThat(f.slots()).as("metrics never say how many slots").isEqualTo(-1);
    }

    @Test
    void llamaCppSlotsGiveItsSlotCountAndTheBusyOnes() {
        EngineFigures f = EngineFigures.parseSlots("""
                [{"id":0,"n_ctx":512,"is_processing":true},{"id":1,"n_ctx":512,"is_processing":false},
                 {"id":2,"n_ctx":512,"is_processing":true}]""");

        assertThat(f.engine()).isEqualTo("llamacpp");
        assertThat(f.slots()).isEqualTo(3);
        assertThat(f.running()).isEqualTo(2);
        assertThat(f.waiting()).as("queued requests are not listed in /slots").isEqualTo(-1);
    }

    @Test
    void anotherEnginesPageIsNotTakenForSlots() {
        assertThatThrownBy(() -> EngineFigures.parseSlots("{\"object\":\"list\",\"data\":[]}"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EngineFigures.parseSlots("<html>not found</html>"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void llamaCppPropsGiveItsSlotCount() {
        assertThat(EngineInfo.llamaCppSlots("{\"total_slots\":16,\"default_generation_settings\":{\"n_ctx\":512}}"))
                .isEqualTo(16);
        assertThat(EngineInfo.llamaCppContext("{\"total_slots\":16,\"default_generation_settings\":{\"n_ctx\":512}}"))
                .isEqualTo(512);
        assertThat(EngineInfo.llamaCppSlots("{\"object\":\"list\"}")).isZero();
    }
}
