package io.kvasir.http.openai;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.jackson.JacksonObjectMapperProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request's logit bias survives the trip to another node: the gateway parses it, a decode
 * replica elsewhere applies it. The fabric's messages carry the request through Akka's
 * jackson-cbor serializer, whose object mapper is used here directly (the fabric's message types
 * are its own business).
 */
class LogitBiasWireTest {

    private static ActorTestKit kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create(
                "wire", ConfigFactory.parseString("akka.actor.provider = local").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void logitBiasRoundTripsThroughTheClusterSerializer() throws Exception {
        SamplingParams sampling = new SamplingParams(0.7f, 40, 0.9f, 0f, 1.1f, 0f, 0f, 3L, 2)
                .withLogitBias(Map.of(50256, -100f, 13, 2.5f));
        GenerationRequest request = new GenerationRequest(
                "m",
                "s",
                List.of(new ChatMessage("user", "hi")),
                null,
                sampling,
                16,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null);

        ObjectMapper cbor = JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-cbor", Optional.empty());

        GenerationRequest back = cbor.readValue(cbor.writeValueAsBytes(request), GenerationRequest.class);

        assertThat(back.sampling()).isEqualTo(sampling);
        assertThat(back.sampling().logitBias()).containsEntry(50256, -100f).containsEntry(13, 2.5f);
    }
}
