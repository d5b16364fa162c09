package io.kvasir.http.openai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.kvasir.http.ApiError;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Request bodies to JSON trees. The bytes must be valid UTF-8, checked strictly first (Jackson
 * alone lets overlong forms and encoded surrogates through), and the JSON must keep the configured
 * {@link JsonLimits}, which Jackson enforces while parsing. Every failure is a 400 that says what
 * was wrong; none is a server error. Thread-safe.
 */
public final class RequestJson {

    public static final RequestJson DEFAULT = new RequestJson(JsonLimits.DEFAULT);

    private final JsonLimits limits;
    private final ObjectMapper mapper;

    public RequestJson(JsonLimits limits) {
        this.limits = limits;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(limits.maxDepth())
                        .maxNumberLength(limits.maxNumberLength())
                        .build())
                .build();
        this.mapper = JsonMapper.builder(factory)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    /** The body as a tree, or an {@link ApiError.ApiException} carrying the 400 to answer with. */
    public JsonNode parse(byte[] body) {
        String text = utf8(body);
        try {
            return mapper.readTree(text);
        } catch (StreamConstraintsException e) {
            throw limitExceeded(e).toException();
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
            throw ApiError.invalid("The request body is not valid JSON" + where + ".", null)
                    .toException();
        }
    }

    private static String utf8(byte[] body) {
        try {
            CharBuffer chars = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw ApiError.invalid("The request body is not valid UTF-8.", null).toException();
        }
    }

    /**
     * Jackson tells which limit was hit only in its message, which names the constraint's getter;
     * anything not recognized is reported as a parser limit without naming one.
     */
    private ApiError limitExceeded(StreamConstraintsException e) {
        String detail = String.valueOf(e.getMessage());
        String message;
        if (detail.contains("getMaxNestingDepth")) {
            message = "The request body nests JSON deeper than the limit of " + limits.maxDepth()
                    + " levels (kvasir.http.json.max-depth).";
        } else if (detail.contains("getMaxNumberLength")) {
            message = "The request body has a number longer than the limit of " + limits.maxNumberLength()
                    + " characters (kvasir.http.json.max-number-length).";
        } else {
            message = "The request body exceeds a JSON parser limit.";
        }
        return new ApiError(
                akka.http.javadsl.model.StatusCodes.BAD_REQUEST,
                message,
                ApiError.INVALID_REQUEST,
                null,
                "json_limit_exceeded",
                0);
    }
}
