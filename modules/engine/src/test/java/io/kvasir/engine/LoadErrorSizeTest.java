package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.gguf.ErrorText;
import io.kvasir.engine.gguf.GgufException;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufRewrite;
import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.engine.synth.SyntheticModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A corrupt file once produced a 352 KB error message of raw metadata bytes. Whatever a file holds,
 * a load error is one line of bounded length that still says which key and where.
 */
class LoadErrorSizeTest {

    private static final int GARBAGE = 352_000;
    private static final String MARK = "@@garbage@@";

    @TempDir
    Path dir;

    @Test
    void aKeyWhoseLengthSwallowsAHugeValueGivesAShortError() throws IOException {
        Path p = dir.resolve("swallow.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.description", placeholder())
                .putUInt32("llama.block_count", 1)
                .write(p);
        byte[] b = withGarbage(Files.readAllBytes(p));
        // Lengthen the key "general.description" so that it runs over its own type, the value's length
        // and the whole garbage value; the next four bytes, read as a type, are the low half of the
        // following key's length (17), which is no GGUF type.
        String key = "general.description";
        int keyAt = indexOf(b, key);
        putI64(b, keyAt - 8, key.length() + 4 + 8 + GARBAGE);
        Files.write(p, b);

        assertThatThrownBy(() -> GgufFile.open(p))
                .isInstanceOf(GgufException.class)
                .satisfies(e -> assertShortLine(e.getMessage()))
                .hasMessageContaining("'general.description")
                .hasMessageContaining("unknown value type 17")
                .hasMessageContaining("(at byte " + (keyAt + key.length() + 4 + 8 + GARBAGE) + ")");
    }

    @Test
    void aHugeGarbageArchitectureGivesAShortError() throws IOException {
        Path p = dir.resolve("arch.gguf");
        new GgufWriter().putString("general.architecture", placeholder()).write(p);
        Files.write(p, withGarbage(Files.readAllBytes(p)));

        assertThatThrownBy(() -> LlamaRunner.open(
                        p,
                        EngineOptions.defaults().withThreads(1).withKvBlocks(4).withBlockSize(16)))
                .isInstanceOf(ModelLoadException.class)
                .satisfies(e -> assertShortLine(e.getMessage()))
                .hasMessageContaining("unsupported model architecture '" + MARK)
                .hasMessageFindingMatch("…' \\(\\d{6} chars\\)");
    }

    @Test
    void aHugeStringWhereANumberBelongsGivesAShortErrorWithItsOffset() throws IOException {
        Path p = dir.resolve("dim.gguf");
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("llama.embedding_length", placeholder())
                .write(p);
        byte[] b = withGarbage(Files.readAllBytes(p));
        Files.write(p, b);
        long valueAt = indexOf(b, "llama.embedding_length") + "llama.embedding_length".length() + 4;

        assertThatThrownBy(() -> LlamaRunner.open(
                        p,
                        EngineOptions.defaults().withThreads(1).withKvBlocks(4).withBlockSize(16)))
                .isInstanceOf(GgufException.class)
                .satisfies(e -> assertShortLine(e.getMessage()))
                .hasMessageContaining("'llama.embedding_length' should be an integer, found string '" + MARK)
                .hasMessageContaining("(value at byte " + valueAt + ")");
    }

    @Test
    void aHugeGarbageTokenizerModelGivesAShortLoadError() throws IOException {
        Path good = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), good);
        Path p = dir.resolve("tokenizer.gguf");
        GgufRewrite.rewrite(good, p, w -> w.putString("tokenizer.ggml.model", placeholder()));
        Files.write(p, withGarbage(Files.readAllBytes(p)));

        assertThatThrownBy(() -> LocalModel.open(p, EngineOptions.defaults().withThreads(1)))
                .isInstanceOf(ModelLoadException.class)
                .satisfies(e -> assertShortLine(e.getMessage()))
                .hasMessageContaining("tokenizer.gguf: unusable tokenizer or chat template")
                .hasMessageContaining("unsupported tokenizer model '" + MARK);
    }

    private static void assertShortLine(String message) {
        assertThat(message).hasSizeLessThanOrEqualTo(ErrorText.MAX_MESSAGE);
        // Raw bytes would show as control characters or U+FFFD; they must come out escaped.
        assertThat(message.chars().filter(c -> c < 0x20 || c == 0x7f || c == 0xFFFD))
                .isEmpty();
    }

    /** A value of GARBAGE characters that starts with MARK, to be overwritten in the file. */
    private static String placeholder() {
        return MARK + "Q".repeat(GARBAGE - MARK.length());
    }

    /** Replaces the placeholder's bytes after MARK with random bytes: newlines, NULs, invalid UTF-8. */
    private static byte[] withGarbage(byte[] file) {
        int at = indexOf(file, MARK) + MARK.length();
        byte[] noise = new byte[GARBAGE - MARK.length()];
        new Random(352).nextBytes(noise);
        System.arraycopy(noise, 0, file, at, noise.length);
        return file;
    }

    private static int indexOf(byte[] haystack, String s) {
        byte[] needle = s.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(s + " not in file");
    }

    private static void putI64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }
}
