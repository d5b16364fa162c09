package io.kvasir.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.gguf.GgufFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp's tokenizer vectors (peers/vocab): each {@code X.gguf.inp} case, encoded without BOS and
 * without special-token parsing, must give exactly the ids of the matching {@code .out} line.
 */
class VocabVectorsTest {

    private static final List<String> VOCABS =
            List.of("llama-spm", "phi-3", "gpt-2", "deepseek-llm", "deepseek-coder", "starcoder", "mpt");
    /** The generator writes each case followed by this line. */
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private static final Map<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    record Case(String vocab, int index, String text, int[] expected) {
        @Override
        public String toString() {
            if (index < 0) {
                return vocab + " (vectors absent)";
            }
            String shown = text.replace("\n", "\\n").replace("\t", "\\t");
            return vocab + " #" + index + " \"" + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown) + "\"";
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String vocab : VOCABS) {
            Path dir = SharedData.dir().resolve("peers/vocab");
            Path inp = dir.resolve("ggml-vocab-" + vocab + ".gguf.inp");
            Path out = dir.resolve("ggml-vocab-" + vocab + ".gguf.out");
            if (!Files.isReadable(inp) || !Files.isReadable(out)) {
                all.add(Arguments.of(new Case(vocab, -1, "", new int[0]))); // skipped in the test body
                continue;
            }
            List<Case> cases = read(vocab, inp, out);
            cases.forEach(c -> all.add(Arguments.of(c)));
        }
        return all.stream();
    }

    static List<Case> read(String vocab, Path inp, Path out) {
        try {
            String input = Files.readString(inp, StandardCharsets.UTF_8);
            List<String> texts = new ArrayList<>(Arrays.asList(input.split(SEPARATOR, -1)));
            // the file ends with a separator, leaving an empty tail that is not a case
            assertThat(texts.removeLast()).isEmpty();
            List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
            assertThat(lines).as("one output line per input of " + vocab).hasSize(texts.size());
            List<Case> cases = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                String line = lines.get(i).trim();
                int[] ids = line.isEmpty()
                        ? new int[0]
                        : Arrays.stream(line.split("\\s+"))
                                .mapToInt(Integer::parseInt)
                                .toArray();
                cases.add(new Case(vocab, i, texts.get(i), ids));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Both vector files, through the shared-data rule: a vocabulary whose vectors are absent got a
     * single placeholder case from {@link #cases()}, which skips here, or fails under CI.
     */
    private static void requireVectors(String vocab) {
        SharedData.require("peers/vocab/ggml-vocab-" + vocab + ".gguf.inp");
        SharedData.require("peers/vocab/ggml-vocab-" + vocab + ".gguf.out");
    }

    static Tokenizer tokenizer(String vocab) {
        return TOKENIZERS.computeIfAbsent(vocab, v -> {
            try (GgufFile gguf = GgufFile.open(SharedData.require("peers/vocab/ggml-vocab-" + v + ".gguf"))) {
                return Tokenizers.fromGguf(gguf);
            }
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void encodesLikeLlamaCpp(Case c) {
        requireVectors(c.vocab());
        Tokenizer tokenizer = tokenizer(c.vocab());
        assertThat(tokenizer.encode(c.text(), false, false)).containsExactly(c.expected());
    }

    /**
     * Streaming the expected ids one by one gives the decoded text: characters split across byte
     * tokens (emoji, Khmer, CJK in these vectors) are held back until complete. Only a SentencePiece
     * space prefix, which decode drops and a stream keeps, may differ.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void streamsTheSameTextAsDecode(Case c) {
        requireVectors(c.vocab());
        Tokenizer tokenizer = tokenizer(c.vocab());
        StreamingDetokenizer stream = new StreamingDetokenizer(tokenizer);
        StringBuilder streamed = new StringBuilder();
        for (int id : c.expected()) {
            streamed.append(stream.push(id));
        }
        streamed.append(stream.flush());
        String decoded = tokenizer.decode(c.expected());
        String s = streamed.toString();
        assertThat(s.equals(decoded) || (s.startsWith(" ") && s.substring(1).equals(decoded)))
                .as("streamed %s vs decoded %s", s, decoded)
                .isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesBackToTheInput(Case c) {
        requireVectors(c.vocab());
        Tokenizer tokenizer = tokenizer(c.vocab());
        assertThat(tokenizer.decode(c.expected())).isEqualTo(c.text());
    }
}
