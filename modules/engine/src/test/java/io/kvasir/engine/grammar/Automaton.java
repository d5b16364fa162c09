package io.kvasir.engine.grammar;

import java.nio.charset.StandardCharsets;

/** The grammar tests' way into a compiled schema: compile it, feed it text byte by byte, ask where that left it. */
final class Automaton {

    private Automaton() {}

    /** The schema compiled as {@code strict: true} compiles it. */
    static Shape strict(String json) {
        return SchemaCompiler.compile(ResponseFormat.jsonSchema(json, true));
    }

    /** The schema compiled as {@code strict: false} compiles it. */
    static Shape loose(String json) {
        return SchemaCompiler.compile(ResponseFormat.jsonSchema(json, false));
    }

    /** The state after the text, byte by byte, or null where a byte was rejected. */
    static JsonState feed(Shape root, String text) {
        return JsonState.start(root).advance(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether the text is a whole value of the schema. */
    static boolean accepts(Shape root, String text) {
        JsonState s = feed(root, text);
        return s != null && s.canEnd();
    }

    /** Whether the text can still be continued into a value of the schema. */
    static boolean isPrefix(Shape root, String text) {
        return feed(root, text) != null;
    }
}
