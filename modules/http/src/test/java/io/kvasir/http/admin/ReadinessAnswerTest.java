package io.kvasir.http.admin;

import static org.assertj.core.api.Assertions.assertThat;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReadinessAnswerTest {

    private static final HttpResponse AKKA_NOT_OK = HttpResponse.create()
            .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
            .withEntity("Not Healthy: Check [akka.management.internal.HealthChecksImpl$$Lambda/0x1] not ok");

    @Test
    void aNotReadyAnswerCarriesTheFabricsReasonAndKeepsItsStatus() {
        HttpResponse answer = ReadinessAnswer.explain(
                AKKA_NOT_OK, () -> Optional.of("warming up the serving path (1571 of 8000 requests)"));

        assertThat(answer.status()).isEqualTo(StatusCodes.INTERNAL_SERVER_ERROR);
        assertThat(body(answer)).isEqualTo("Not ready: warming up the serving path (1571 of 8000 requests)");
    }

    @Test
    void anotherChecksFailureWithTheFabricReadyKeepsAkkasAnswer() {
        assertThat(ReadinessAnswer.explain(AKKA_NOT_OK, Optional::empty)).isSameAs(AKKA_NOT_OK);
    }

    @Test
    void aReadyAnswerIsLeftAlone() {
        HttpResponse ok = HttpResponse.create().withEntity("OK");
        assertThat(ReadinessAnswer.explain(ok, () -> Optional.of("stale reason")))
                .isSameAs(ok);
    }

    private static String body(HttpResponse response) {
        return ((akka.http.javadsl.model.HttpEntity.Strict) response.entity())
                .getData()
                .decodeString(StandardCharsets.UTF_8);
    }
}
