package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files that lie: truncated, with absurd counts and lengths, unknown types, bad shapes and
 * misplaced data. Each must fail with a {@link GgufException} that names the file, never with an
 * index error or an attempt to allocate what the file claims.
 */
class GgufHostileFileTest {

    @TempDir
    Path dir;

    private byte[] good;

    @BeforeEach
    void writeSmallModel() throws IOException {
        Path p = dir.resolve("small.gguf");
        String[] tokens = new String[64];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = "tok" + i;
        }
        byte[] w = new byte[GgmlType.Q8_0.blockBytes() * 2 * 4];
        new Random(7).nextBytes(w);
        new GgufWriter()
                .putString("general.architecture", "llama")
                .putUInt32("llama.block_count", 1)
                .putFloat32("llama.rope.freq_base", 10000f)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putStringArray("tokenizer.ggml.tokens", tokens)
                .putFloatArray("tokenizer.ggml.scores", new float[64])
                .putInt32Array("tokenizer.ggml.token_type", new int[64])
                .addTensor("norm.weight", GgmlType.F32, new long[] {16}, new byte[64])
                .addTensor("blk.0.w.weight", GgmlType.Q8_0, new long[] {64, 4}, w)
                .addTensor("out.weight", GgmlType.F32, new long[] {16, 8}, new byte[16 * 8 * 4])
                .write(p);
        good = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.tensors()).hasSize(3);
        }
    }

    // ---- truncation ---------------------------------------------------------------------------

    @Test
    void everyTruncationOfASmallModelFails() throws IOException {
        assertThat(good.length).isBetween(1000, 16_000);
        Path p = dir.resolve("cut.gguf");
        Files.write(p, good);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            for (int size = good.length - 1; size >= 0; size--) {
                ch.truncate(size);
                expectRefused(p, "truncated to " + size);
            }
        }
    }

    @Test
    void sampledTruncationsOfStories260KFail() throws IOException {
        Path src = SharedData.require("models/stories260K.gguf");
        byte[] all = Files.readAllBytes(src);
        long dataEnd;
        long headerEnd;
        try (GgufFile f = GgufFile.open(src)) {
            dataEnd = f.tensors().stream()
                    .mapToLong(t -> f.dataOffset() + t.offset() + t.byteSize())
                    .max()
                    .orElseThrow();
            headerEnd = f.dataOffset();
        }
        Path p = dir.resolve("stories-cut.gguf");
        Random rnd = new Random(260);
        for (int i = 0; i < 200; i++) {
            // Half the cuts inside the header (where parsing happens), half anywhere before the last tensor ends.
            long size = i % 2 == 0 ? rnd.nextLong(headerEnd + 1) : rnd.nextLong(dataEnd);
            Files.write(p, java.util.Arrays.copyOf(all, (int) size));
            expectRefused(p, "stories260K truncated to " + size);
        }
    }

    // ---- header fields ------------------------------------------------------------------------

    @Test
    void aDirectoryIsNamedAsOne() throws IOException {
        Path models = Files.createDirectory(dir.resolve("models"));
        assertThatThrownBy(() -> GgufFile.open(models))
                .isInstanceOf(GgufException.class)
                .hasMessage("models: is a directory, not a GGUF file");
    }

    @Test
    void badMagicIsNotAGgufFile() {
        mutate(b -> b[0] = 'X').hasMessageContaining("not a GGUF file");
    }

    @Test
    void version1IsRefusedClearly() {
        mutate(b -> putI32(b, 4, 1)).hasMessageContaining("version 1 is not supported");
    }

    @Test
    void unknownVersionsAreRefused() {
        mutate(b -> putI32(b, 4, 4)).hasMessageContaining("unsupported GGUF version 4");
        mutate(b -> putI32(b, 4, Integer.reverseBytes(3))).hasMessageContaining("big-endian");
    }

    @Test
    void absurdTensorCountFailsFast() {
        mutate(b -> putI64(b, 8, 1L << 60)).hasMessageContaining("tensor count");
        mutate(b -> putI64(b, 8, -1)).hasMessageContaining("tensor count");
    }

    @Test
    void absurdKeyValueCountFailsFast() {
        mutate(b -> putI64(b, 16, 1L << 60)).hasMessageContaining("key/value count");
    }

    @Test
    void tensorCountTooHighRunsOutOfBytes() {
        mutate(b -> putI64(b, 8, 4)).isInstanceOf(GgufException.class);
    }

    @Test
    void absurdStringLengthsFailFast() {
        // The first key's length sits right after the header counts.
        mutate(b -> putI64(b, 24, 1L << 60)).hasMessageContaining("length");
        mutate(b -> putI64(b, 24, -8)).hasMessageContaining("length");
        int value = valueOf("general.architecture");
        mutate(b -> putI64(b, value, Long.MAX_VALUE)).hasMessageContaining("general.architecture");
        // A token string inside an array.
        int tok = find("tok5") - 8;
        mutate(b -> putI64(b, tok, 1L << 40)).hasMessageContaining("tokenizer.ggml.tokens");
    }

    @Test
    void absurdArrayLengthsFailFast() {
        int arr = valueOf("tokenizer.ggml.tokens");
        mutate(b -> putI64(b, arr + 4, 1L << 60)).hasMessageContaining("array length of 'tokenizer.ggml.tokens'");
        int scores = valueOf("tokenizer.ggml.scores");
        mutate(b -> putI64(b, scores + 4, (1L << 62) + 1)).hasMessageContaining("tokenizer.ggml.scores");
        mutate(b -> putI64(b, scores + 4, 10_000)).hasMessageContaining("tokenizer.ggml.scores");
    }

    @Test
    void unknownAndNestedValueTypesAreRefused() {
        int type = valueOf("llama.block_count") - 4;
        mutate(b -> putI32(b, type, 13)).hasMessageContaining("unknown value type 13");
        mutate(b -> putI32(b, type, -1)).hasMessageContaining("unknown value type");
        int arr = valueOf("tokenizer.ggml.scores");
        mutate(b -> putI32(b, arr, 9)).hasMessageContaining("array of arrays");
        mutate(b -> putI32(b, arr, 77)).hasMessageContaining("unknown value type 77");
    }

    @Test
    void boolsMustBeZeroOrOne() {
        int v = valueOf("tokenizer.ggml.add_bos_token");
        mutate(b -> b[v] = 2).hasMessageContaining("bool");
    }

    @Test
    void duplicateKeysAreRefused() throws IOException {
        Path p = dir.resolve("dup.gguf");
        new GgufWriter().putString("key.a", "x").putUInt32("key.b", 1).write(p);
        byte[] b = Files.readAllBytes(p);
        b[indexOf(b, "key.b") + 4] = 'a';
        expectRefused(b).hasMessageContaining("duplicate metadata key 'key.a'");
    }

    @Test
    void alignmentMustBeAPowerOfTwoInteger() throws IOException {
        for (long bad : new long[] {0, 3, 48, 1L << 40}) {
            Path p = dir.resolve("align.gguf");
            new GgufWriter().putUInt64("general.alignment", bad).write(p);
            assertThatThrownBy(() -> GgufFile.open(p))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("general.alignment");
        }
        Path p = dir.resolve("align-type.gguf");
        new GgufWriter().putString("general.alignment", "32").write(p);
        assertThatThrownBy(() -> GgufFile.open(p))
                .isInstanceOf(GgufException.class)
                .hasMessageContaining("general.alignment must be an integer");
    }

    // ---- tensor infos -------------------------------------------------------------------------

    @Test
    void rankMustBeOneToFour() {
        int rank = afterName("blk.0.w.weight");
        mutate(b -> putI32(b, rank, 0)).hasMessageContaining("0 dimensions");
        mutate(b -> putI32(b, rank, 5)).hasMessageContaining("5 dimensions");
        mutate(b -> putI32(b, rank, -1)).hasMessageContaining("dimensions");
    }

    @Test
    void dimensionsMustBePositiveAndNotOverflow() {
        int dims = afterName("blk.0.w.weight") + 4;
        mutate(b -> putI64(b, dims, 0)).hasMessageContaining("dimension 0 = 0");
        mutate(b -> putI64(b, dims + 8, -5)).hasMessageContaining("dimension 1");
        mutate(b -> {
                    putI64(b, dims, 1L << 35);
                    putI64(b, dims + 8, 1L << 35);
                })
                .hasMessageContaining("more than 2^63 elements");
        // F32 with 2^62 elements overflows the byte count, not the element count.
        int normDims = afterName("norm.weight") + 4;
        mutate(b -> putI64(b, normDims, 1L << 62)).hasMessageContaining("2^63 bytes");
        // A plausible but huge shape: data past the end of the file.
        mutate(b -> putI64(b, normDims, 1L << 40)).hasMessageContaining("past the end of the file");
    }

    @Test
    void rowsMustBeWholeBlocks() {
        int dims = afterName("blk.0.w.weight") + 4;
        mutate(b -> putI64(b, dims, 48)).hasMessageContaining("block size 32");
    }

    @Test
    void unknownTensorTypeIdsAreRefused() {
        int type = afterName("norm.weight") + 4 + 8;
        mutate(b -> putI32(b, type, 4)).hasMessageContaining("unknown ggml type id 4");
        mutate(b -> putI32(b, type, 1000)).hasMessageContaining("unknown ggml type id 1000");
        mutate(b -> putI32(b, type, -2)).hasMessageContaining("unknown ggml type id");
    }

    @Test
    void tensorOffsetsMustBeAlignedInsideAndDisjoint() {
        int off = afterName("out.weight") + 4 + 16 + 4;
        mutate(b -> putI64(b, off, 33)).hasMessageContaining("not a multiple of the alignment 32");
        mutate(b -> putI64(b, off, 1L << 20))
                .hasMessageContaining("tensor 'out.weight' data [")
                .hasMessageContaining("lies past the end");
        mutate(b -> putI64(b, off, Long.MAX_VALUE - 31)).hasMessageContaining("past the end");
        mutate(b -> putI64(b, off, -32)).isInstanceOf(GgufException.class);
        mutate(b -> putI64(b, off, 0)).hasMessageContaining("overlap");
    }

    @Test
    void duplicateTensorNamesAreRefused() throws IOException {
        Path p = dir.resolve("dup.gguf");
        new GgufWriter()
                .addTensor("t1.weight", GgmlType.F32, new long[] {8}, new byte[32])
                .addTensor("t2.weight", GgmlType.F32, new long[] {8}, new byte[32])
                .write(p);
        byte[] b = Files.readAllBytes(p);
        b[indexOf(b, "t2.weight") + 1] = '1';
        expectRefused(b).hasMessageContaining("duplicate tensor name 't1.weight'");
    }

    @Test
    void missingFileIsAGgufException() {
        assertThatThrownBy(() -> GgufFile.open(dir.resolve("absent.gguf")))
                .isInstanceOf(GgufException.class)
                .hasMessageContaining("absent.gguf");
    }

    @Test
    void randomByteFlipsInTheHeaderNeverEscapeAsOtherExceptions() throws IOException {
        Random rnd = new Random(42);
        Path p = dir.resolve("fuzz.gguf");
        int header;
        try (GgufFile f = GgufFile.open(write(good))) {
            header = (int) f.dataOffset();
        }
        for (int i = 0; i < 1500; i++) {
            byte[] b = good.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int j = 0; j < flips; j++) {
                b[rnd.nextInt(header)] ^= (byte) (1 << rnd.nextInt(8));
            }
            Files.write(p, b);
            try (GgufFile f = GgufFile.open(p)) {
                // Some flips land in names or values and still make a valid file: fine, as long as
                // every tensor's data is inside the file.
                for (TensorInfo t : f.tensors()) {
                    assertThat(f.tensorData(t).byteSize()).isEqualTo(t.byteSize());
                }
            } catch (GgufException e) {
                assertThat(e.getCause()).as("flip %d: %s", i, e.getMessage()).isNull();
                assertThat(e.getMessage()).startsWith("fuzz.gguf: ");
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private AbstractThrowableAssert<?, ? extends Throwable> mutate(Consumer<byte[]> change) {
        byte[] b = good.clone();
        change.accept(b);
        return expectRefused(b);
    }

    private AbstractThrowableAssert<?, ? extends Throwable> expectRefused(byte[] bytes) {
        try {
            return expectRefused(write(bytes), "mutated");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private Path write(byte[] bytes) throws IOException {
        Path p = dir.resolve("bad.gguf");
        Files.write(p, bytes);
        return p;
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> expectRefused(Path p, String what) {
        try (GgufFile f = GgufFile.open(p)) {
            fail("%s: opened %s", what, f);
            return null;
        } catch (GgufException e) {
            // A cause would mean something other than the parser's own checks caught the problem.
            assertThat(e.getCause()).as("%s: %s", what, e.getMessage()).isNull();
            assertThat(e.getMessage()).startsWith(p.getFileName() + ": ");
            return assertThat((Throwable) e);
        }
    }

    private int find(String s) {
        return indexOf(good, s);
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

    /** Offset of a metadata key's value (after its type id). */
    private int valueOf(String key) {
        return find(key) + key.length() + 4;
    }

    /** Offset just after a tensor's name: its rank. */
    private int afterName(String tensor) {
        return find(tensor) + tensor.length();
    }

    private static void putI32(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
    }

    private static void putI64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }
}
