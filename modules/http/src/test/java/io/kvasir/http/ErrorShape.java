package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;

/** Assertions that an answer is an OpenAI-shaped error: {@code {"error": {message, type, param, code}}}. */
public final class ErrorShape {

    private ErrorShape() {}

    /** The {@code error} object, after checking status, content type and shape; {@code param} null: not checked. */
    public static JsonNode assertError(HttpResponse<String> response, int status, String param) throws Exception {
        return assertError(
                response.statusCode(),
                response.headers().firstValue("Content-Type").orElse(null),
                response.body(),
                status,
                param);
    }

    public static JsonNode assertError(RawHttp.Response response, int status, String param) throws Exception {
        return assertError(response.status(), response.header("Content-Type"), response.body(), status, param);
    }

    public static JsonNode assertError(int actual, String contentType, String body, int status, String param)
            throws Exception {
        assertThat(actual).as(body).isEqualTo(status);
        assertThat(contentType).as("Content-Type").startsWith("application/json");
        JsonNode error = OpenAiJson.MAPPER.readTree(body).get("error");
        assertThat(error).as(body).isNotNull();
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.has("type")).isTrue();
        assertThat(error.has("param")).isTrue();
        assertThat(error.has("code")).isTrue();
        if (param != null) {
            assertThat(error.get("param").asText()).isEqualTo(param);
        }
        assertThat(body).doesNotContain("Exception").doesNotContain("\tat ");
        return error;
    }
}
