package io.kvasir.engine.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The one JSON writer of the package: literals must be spelled exactly as the automaton matches them. */
final class Json {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    /** The compact UTF-8 text of a JSON value. */
    static byte[] compact(JsonNode value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a parsed JSON value", e);
        }
    }

    /** A property name as JSON spells it, without the opening quote: what follows a key's {@code "}. */
    static byte[] quotedTail(String name) {
        byte[] quoted = compact(MAPPER.getNodeFactory().textNode(name));
        return Arrays.copyOfRange(quoted, 1, quoted.length);
    }

    static String text(byte[] utf8) {
        return new String(utf8, StandardCharsets.UTF_8);
    }
}
