package io.kvasir.fabric.external;

import akka.NotUsed;
import akka.http.javadsl.model.HttpResponse;
import akka.stream.Materializer;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEvent;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnRefused;
import java.util.Locale;

/**
 * An engine's 4xx answer to a turn (other than 429) as the refusal the client gets: the engine's
 * own message (OpenAI-shaped bodies from vLLM and SGLang, llama.cpp's similar one) under Kvasir's
 * error kinds. A 404 means the engine does not serve the model under that name: a configuration
 * fault, so a 502 rather than the client's error.
 */
final class EngineRefusal {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long READ_MILLIS = 5_000;
    private static final int MAX_MESSAGE = 500;

    private EngineRefusal() {}

    static Source<TurnEvent, NotUsed> read(HttpResponse response, Materializer materializer) {
        int status = response.status().intValue();
        return Source.completionStage(response.entity().toStrict(READ_MILLIS, materializer))
                .map(strict -> (TurnEvent) refusal(status, strict.getData().utf8String()))
                .mapMaterializedValue(m -> NotUsed.notUsed());
    }

    static TurnRefused refusal(int status, String body) {
        String message = message(body);
        if (status == 404) {
            return new TurnRefused(
                    FabricException.Kind.BAD_GATEWAY, "the engine does not serve this model: " + message, null);
        }
        String lower = message.toLowerCase(Locale.ROOT);
        boolean tooLong = lower.contains("context length")
                || lower.contains("context window")
                || lower.contains("maximum context")
                || lower.contains("exceeds the available context");
        return tooLong
                ? new TurnRefused(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED, message, "messages")
                : new TurnRefused(FabricException.Kind.INVALID_REQUEST, message, null);
    }

    private static String message(String body) {
        String message;
        try {
            JsonNode json = JSON.readTree(body);
            JsonNode error = json == null ? null : json.path("error");
            message = error == null
                    ? body
                    : error.isTextual()
                            ? error.asText()
                            : error.path("message").asText(json.path("message").asText(body));
        } catch (Exception e) {
            message = body;
        }
        message = message.isBlank() ? "the engine refused the request" : message.strip();
        return message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE) + "..." : message;
    }
}
