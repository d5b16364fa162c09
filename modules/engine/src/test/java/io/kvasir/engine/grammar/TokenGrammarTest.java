package io.kvasir.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The automaton lifted to a real vocabulary: masks are exactly the tokens whose bytes fit. */
class TokenGrammarTest {

    @TempDir
    Path dir;

    private Tokenizer syntheticTokenizer(int vocab) {
        Path p = dir.resolve("v" + vocab + ".gguf");
        SyntheticModel.write(new SyntheticModel.Spec(64, 1, 2, 2, 64, vocab, 64, GgmlType.F32, 1, true, null, 1e4f), p);
        try (GgufFile f = GgufFile.open(p)) {
            return Tokenizers.fromGguf(f);
        }
    }

    @Test
    void masksMatchTheAutomatonTokenByTokenOnTheBuiltinVocabulary() {
        Tokenizer tok = syntheticTokenizer(512);
        int complete = 0;
        for (ResponseFormat format : new ResponseFormat[] {
            ResponseFormat.JSON_OBJECT,
            ResponseFormat.jsonSchema(Schemas.PERSON, true),
            ResponseFormat.jsonSchema(Schemas.ORDER, true),
            ResponseFormat.jsonSchema(Schemas.LIMITS, true),
            ResponseFormat.jsonSchema(Schemas.FORMATS, true)
        }) {
            TokenGrammar g = Grammars.compile(format, tok);
            for (long seed = 0; seed < 6; seed++) {
                complete += walk(g, tok, seed, format.schema(), true) ? 1 : 0;
            }
        }
        // free strings rarely close on a uniform walk; the order schema has none
        assertThat(complete).as("walks that completed their value").isGreaterThanOrEqualTo(6);
    }

    @Test
    void formattedValuesWrittenTokenByTokenPassIndependentChecks() {
        Tokenizer tok = syntheticTokenizer(512);
        TokenGrammar g = Grammars.compile(ResponseFormat.jsonSchema(Schemas.FORMATS, true), tok);
        Map<String, String> formats = Map.of(
                "day", "date",
                "at", "date-time",
                "id", "uuid",
                "ip", "ipv4",
                "mail", "email",
                "host", "hostname",
                "took", "duration");
        int complete = 0;
        for (long seed = 100; seed < 110; seed++) {
            String text = walkText(g, tok, seed, Schemas.FORMATS, true);
            if (text == null) {
                continue;
            }
            complete++;
            JsonNode value = Schemas.assertValid(text, Schemas.FORMATS);
            formats.forEach((field, format) -> {
                JsonNode v = value.get(field);
                assertThat(v.isNull() || SchemaFormatsTest.check(format, v.textValue()))
                        .as("%s in %s", format, text)
                        .isTrue();
            });
        }
        assertThat(complete).as("walks that completed their value").isGreaterThanOrEqualTo(5);
    }

    @Test
    void randomWalksOverTheStoriesVocabularyGiveValidJson() {
        Path model = SharedData.require("models/stories260K.gguf");
        Tokenizer tok;
        try (GgufFile f = GgufFile.open(model)) {
            tok = Tokenizers.fromGguf(f);
        }
        TokenGrammar g = Grammars.compile(ResponseFormat.jsonSchema(Schemas.PERSON, true), tok);
        int complete = 0;
        for (long seed = 0; seed < 20; seed++) {
            complete += walk(g, tok, seed, Schemas.PERSON, seed < 3) ? 1 : 0;
        }
        assertThat(complete).as("walks that completed their value").isPositive();
    }

    @Test
    void controlTokensAreNeverAllowedAndEndOfGenerationOnlyAtTheEnd() {
        Tokenizer tok = syntheticTokenizer(512);
        JsonConstraint c = Grammars.compile(ResponseFormat.JSON_OBJECT, tok).start();
        assertThat(c.allows(tok.bosId())).isFalse();
        assertThat(c.allows(tok.eosId())).isFalse();
        for (int id : tok.encode("{\"a\": [1, 2]}", false, false)) {
            assertThat(c.allows(id)).isTrue();
            c.accept(id);
        }
        assertThat(c.isComplete()).isTrue();
        assertThat(c.allows(tok.eosId())).isTrue();
        assertThat(c.allows(tok.bosId())).isFalse();
    }

    @Test
    void aStringOfBoundedLengthSharesMasksAwayFromItsLimits() {
        Tokenizer tok = syntheticTokenizer(512);
        String schema = "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\","
                + "\"minLength\":3,\"maxLength\":60}},\"required\":[\"s\"],\"additionalProperties\":false}";
        TokenGrammar g = Grammars.compile(ResponseFormat.jsonSchema(schema, true), tok);
        int complete = 0;
        for (long seed = 0; seed < 8; seed++) {
            complete += walk(g, tok, seed, schema, true) ? 1 : 0; // every mask checked against the bytes
        }
        assertThat(complete).as("walks that completed their value").isPositive();
        // from an empty cache: without shared masks, every character of the string would be a new state
        g.clearCache();
        long before = g.cacheCounts()[1];
        JsonConstraint c = g.start();
        float[] logits = new float[tok.vocabSize()];
        int[] ids = tok.encode("{\"s\": \"the little girl named lily loved the world", false, false);
        for (int id : ids) {
            c.mask(logits);
            c.accept(id);
        }
        assertThat(g.cacheCounts()[1] - before)
                .as("masks computed for %d tokens", ids.length)
                .isLessThan(ids.length / 2);
    }

    @Test
    void masksAreCachedPerState() {
        Tokenizer tok = syntheticTokenizer(512);
        TokenGrammar g = Grammars.compile(
                ResponseFormat.jsonSchema(
                        "{\"type\":\"object\",\"properties\":" + "{\"s\":{\"type\":\"string\"}},\"required\":[\"s\"]}",
                        true),
                tok);
        JsonConstraint c = g.start();
        float[] logits = new float[tok.vocabSize()];
        for (int id : tok.encode("{\"s\": \"the little girl named lily loved the world", false, false)) {
            c.mask(logits);
            c.accept(id);
        }
        long[] counts = g.cacheCounts();
        assertThat(counts[0]).as("hits inside the string").isGreaterThan(counts[1] / 2);
    }

    /**
     * Samples uniformly among allowed tokens until the value completes (or 300 tokens); with
     * {@code bruteForce} checks every step's mask against each token's bytes fed to the automaton.
     */
    private static boolean walk(TokenGrammar g, Tokenizer tok, long seed, String schema, boolean bruteForce) {
        return walkText(g, tok, seed, schema, bruteForce) != null;
    }

    /** As {@link #walk}, returning the text of a completed value, or null. */
    private static String walkText(TokenGrammar g, Tokenizer tok, long seed, String schema, boolean bruteForce) {
        SplittableRandom random = new SplittableRandom(seed);
        JsonConstraint c = g.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        float[] logits = new float[tok.vocabSize()];
        for (int step = 0; step < 300 && !c.isComplete(); step++) {
            java.util.Arrays.fill(logits, 0f);
            c.mask(logits);
            int allowed = 0;
            JsonState here = c.stateForTest();
            for (int id = 0; id < logits.length; id++) {
                boolean ok = logits[id] == 0f;
                if (bruteForce) {
                    byte[] b = g.vocab().tokenBytes[id];
                    boolean fits = b != null
                            ? here.advance(b) != null
                            : tok.endOfGenerationIds().contains(id) && c.canEnd();
                    assertThat(ok)
                            .as("token %d (%s) after '%s'", id, tok.tokenText(id), out)
                            .isEqualTo(fits);
                }
                allowed += ok ? 1 : 0;
            }
            assertThat(allowed).as("tokens allowed after '%s'", out).isPositive();
            int pick = random.nextInt(allowed);
            int token = -1;
            for (int id = 0; id < logits.length && token < 0; id++) {
                if (logits[id] == 0f && pick-- == 0) {
                    token = id;
                }
            }
            if (tok.endOfGenerationIds().contains(token)) {
                break;
            }
            c.accept(token);
            out.writeBytes(g.vocab().tokenBytes[token]);
        }
        if (c.canEnd()) {
            Schemas.assertValid(out.toString(StandardCharsets.UTF_8), schema);
            return out.toString(StandardCharsets.UTF_8);
        }
        return null;
    }
}
