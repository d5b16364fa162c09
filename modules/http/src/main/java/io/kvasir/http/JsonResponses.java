package io.kvasir.http;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.kvasir.http.openai.OpenAiJson;

/** JSON bodies written with the one snake-case mapper, so every endpoint spells fields alike. */
public final class JsonResponses {

    private JsonResponses() {}

    public static HttpResponse ok(Object body) {
        return of(StatusCodes.OK, body);
    }

    public static HttpResponse of(StatusCode status, Object body) {
        try {
            return HttpResponse.create()
                    .withStatus(status)
                    .withEntity(HttpEntities.create(
                            ContentTypes.APPLICATION_JSON, OpenAiJson.MAPPER.writeValueAsBytes(body)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(
                    "cannot serialize a response of type " + body.getClass().getName(), e);
        }
    }
}
