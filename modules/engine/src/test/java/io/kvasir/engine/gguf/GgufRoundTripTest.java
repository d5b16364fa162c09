package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufRoundTripTest {

    @TempDir
    Path dir;

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void everyScalarTypeRoundTripsWithItsType() {
        Path p = dir.resolve("scalars.gguf");
        new GgufWriter()
                .putUInt8("u8", 255)
                .putInt8("i8", -128)
                .putUInt16("u16", 65535)
                .putInt16("i16", -32768)
                .putUInt32("u32", 0xFFFF_FFFFL)
                .putInt32("i32", Integer.MIN_VALUE)
                .putUInt64("u64", Long.MAX_VALUE)
                .putInt64("i64", Long.MIN_VALUE)
                .putFloat32("f32", 1.5f)
                .putFloat64("f64", Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putString("s", "h\u00e9llo \u2581w\u00f6rld \uD83D\uDE00")
                .putString("empty", "")
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.tensors()).isEmpty();
            assertThat(f.metadata().keySet())
                    .containsExactly(
                            "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no", "s",
                            "empty");
            assertThat(f.integer("u8")).isEqualTo(255);
            assertThat(f.integer("i8")).isEqualTo(-128);
            assertThat(f.integer("u16")).isEqualTo(65535);
            assertThat(f.integer("i16")).isEqualTo(-32768);
            assertThat(f.integer("u32")).isEqualTo(0xFFFF_FFFFL);
            assertThat(f.integer("i32")).isEqualTo(Integer.MIN_VALUE);
            assertThat(f.integer("u64")).isEqualTo(Long.MAX_VALUE);
            assertThat(f.integer("i64")).isEqualTo(Long.MIN_VALUE);
            assertThat(f.metadata().get("f32")).isEqualTo(1.5f);
            assertThat(f.metadata().get("f64")).isEqualTo(Math.PI);
            assertThat(f.bool("yes", false)).isTrue();
            assertThat(f.bool("no", true)).isFalse();
            assertThat(f.string("s")).isEqualTo("h\u00e9llo \u2581w\u00f6rld \uD83D\uDE00");
            assertThat(f.string("empty")).isEmpty();
            for (GgufValueType t : GgufValueType.values()) {
                if (t != GgufValueType.ARRAY && t != GgufValueType.STRING && t != GgufValueType.BOOL) {
                    String key = switch (t) {
                        case FLOAT32 -> "f32";
                        case FLOAT64 -> "f64";
                        default -> t.name().toLowerCase().replace("uint", "u").replace("int", "i");
                    };
                    assertThat(f.valueType(key)).isEqualTo(t);
                }
            }
        }
    }

    @Test
    void everyArrayTypeRoundTrips() {
        Path p = dir.resolve("arrays.gguf");
        GgufWriter w = new GgufWriter();
        for (GgufValueType t : GgufValueType.values()) {
            if (t.isInteger()) {
                long lo = switch (t) {
                    case INT8 -> -128;
                    case INT16 -> -32768;
                    case INT32 -> Integer.MIN_VALUE;
                    case INT64 -> Long.MIN_VALUE;
                    default -> 0;
                };
                long hi = switch (t) {
                    case UINT8 -> 255;
                    case UINT16 -> 65535;
                    case UINT32 -> 0xFFFF_FFFFL;
                    case INT8 -> 127;
                    case INT16 -> 32767;
                    case INT32 -> Integer.MAX_VALUE;
                    default -> Long.MAX_VALUE;
                };
                w.putArray("a." + t, t, new long[] {lo, 1, hi});
            }
        }
        w.putStringArray("a.strings", "", "x", "\u2581the", "<0x0A>");
        w.putFloatArray("a.f32", new float[] {0f, -1.25f, Float.MAX_VALUE});
        w.putArray("a.f64", GgufValueType.FLOAT64, new double[] {1e300, -0.5});
        w.putArray("a.bool", GgufValueType.BOOL, new boolean[] {true, false, true});
        w.putInt32Array("a.types", new int[] {1, 2, 3, 6});
        w.putFloatArray("a.empty", new float[0]);
        w.write(p);

        try (GgufFile f = GgufFile.open(p)) {
            assertThat((long[]) f.metadata().get("a.UINT8")).containsExactly(0, 1, 255);
            assertThat((long[]) f.metadata().get("a.INT8")).containsExactly(-128, 1, 127);
            assertThat((long[]) f.metadata().get("a.UINT16")).containsExactly(0, 1, 65535);
            assertThat((long[]) f.metadata().get("a.INT16")).containsExactly(-32768, 1, 32767);
            assertThat((long[]) f.metadata().get("a.UINT32")).containsExactly(0, 1, 0xFFFF_FFFFL);
            assertThat((long[]) f.metadata().get("a.INT32")).containsExactly(Integer.MIN_VALUE, 1, Integer.MAX_VALUE);
            assertThat((long[]) f.metadata().get("a.UINT64")).containsExactly(0, 1, Long.MAX_VALUE);
            assertThat((long[]) f.metadata().get("a.INT64")).containsExactly(Long.MIN_VALUE, 1, Long.MAX_VALUE);
            assertThat(f.arrayElementType("a.UINT16")).isEqualTo(GgufValueType.UINT16);
            assertThat(f.valueType("a.UINT16")).isEqualTo(GgufValueType.ARRAY);
            assertThat(f.stringArray("a.strings")).containsExactly("", "x", "\u2581the", "<0x0A>");
            assertThat(f.floatArray("a.f32")).containsExactly(0f, -1.25f, Float.MAX_VALUE);
            assertThat((double[]) f.metadata().get("a.f64")).containsExactly(1e300, -0.5);
            assertThat(f.floatArray("a.f64")).containsExactly(Float.POSITIVE_INFINITY, -0.5f);
            assertThat((boolean[]) f.metadata().get("a.bool")).containsExactly(true, false, true);
            assertThat(f.intArray("a.types")).containsExactly(1, 2, 3, 6);
            assertThat(f.arrayElementType("a.types")).isEqualTo(GgufValueType.INT32);
            assertThat(f.floatArray("a.empty")).isEmpty();
            assertThatThrownBy(() -> f.intArray("a.UINT32"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("a.UINT32")
                    .hasMessageContaining("int");
            // typed getters hand out copies
            f.stringArray("a.strings")[0] = "changed";
            assertThat(f.stringArray("a.strings")[0]).isEmpty();
        }
    }

    @Test
    void tensorsRoundTripByteExactAndAligned() {
        Path p = dir.resolve("tensors.gguf");
        byte[] a = randomBytes(4 * 8 * 3, 1);
        byte[] b = randomBytes(GgmlType.Q8_0.blockBytes() * 2 * 3, 2);
        byte[] c = randomBytes(2 * 5, 3);
        byte[] d = randomBytes(GgmlType.Q4_K.blockBytes() * 2, 4);
        new GgufWriter()
                .alignment(64)
                .putString("general.architecture", "test")
                .addTensor("a", GgmlType.F32, new long[] {8, 3}, a)
                .addTensor("b.weight", GgmlType.Q8_0, new long[] {64, 3}, b)
                .addTensor("c", GgmlType.F16, new long[] {5}, c)
                .addTensor("d", GgmlType.Q4_K, new long[] {256, 1, 2, 1}, () -> d.clone())
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.alignment()).isEqualTo(64);
            assertThat(f.integer("general.alignment")).isEqualTo(64);
            assertThat(f.dataOffset() % 64).isZero();
            assertThat(f.tensors()).extracting(TensorInfo::name).containsExactly("a", "b.weight", "c", "d");
            TensorInfo tb = f.tensor("b.weight");
            assertThat(tb.type()).isEqualTo(GgmlType.Q8_0);
            assertThat(tb.shape()).containsExactly(64, 3);
            assertThat(tb.elements()).isEqualTo(192);
            assertThat(tb.byteSize()).isEqualTo(b.length);
            assertThat(f.tensor("d").shape()).containsExactly(256, 1, 2, 1);
            assertThat(f.tensor("d").rank()).isEqualTo(4);
            assertThat(f.tensor("c").dim(3)).isEqualTo(1);
            for (TensorInfo t : f.tensors()) {
                assertThat(t.offset() % 64).isZero();
            }
            assertThat(bytes(f.tensorData(f.tensor("a")))).isEqualTo(a);
            assertThat(bytes(f.tensorData(tb))).isEqualTo(b);
            assertThat(bytes(f.tensorData(f.tensor("c")))).isEqualTo(c);
            assertThat(bytes(f.tensorData(f.tensor("d")))).isEqualTo(d);
            assertThat(f.findTensor("missing")).isEmpty();
            assertThatThrownBy(() -> f.tensor("missing"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("missing");
        }
    }

    @Test
    void version2FilesRead() {
        Path p = dir.resolve("v2.gguf");
        new GgufWriter()
                .version(2)
                .putString("k", "v")
                .addTensor("t", GgmlType.F32, new long[] {2}, new byte[8])
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isEqualTo(2);
            assertThat(f.string("k")).isEqualTo("v");
            assertThat(f.tensor("t").byteSize()).isEqualTo(8);
        }
    }

    @Test
    void accessorsNameTheKeyAndWhatWasFound() {
        Path p = dir.resolve("acc.gguf");
        new GgufWriter()
                .putString("name", "x")
                .putUInt32("n", 7)
                .putFloat32("eps", 1e-5f)
                .putStringArray("list", "a")
                .write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.has("name")).isTrue();
            assertThat(f.has("nope")).isFalse();
            assertThat(f.string("nope", "def")).isEqualTo("def");
            assertThat(f.integer("nope", 42)).isEqualTo(42);
            assertThat(f.real("nope", 0.5f)).isEqualTo(0.5f);
            assertThat(f.bool("nope", true)).isTrue();
            assertThat(f.real("n", 0f)).isEqualTo(7f);
            assertThat(f.real("eps", 0f)).isEqualTo(1e-5f);
            assertThat(f.real("eps")).isEqualTo(1e-5f);
            assertThatThrownBy(() -> f.real("nope"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("'nope'");
            assertThatThrownBy(() -> f.string("nope"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("acc.gguf")
                    .hasMessageContaining("'nope'")
                    .hasMessageContaining("missing");
            assertThatThrownBy(() -> f.integer("name"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("'name'")
                    .hasMessageContaining("integer")
                    .hasMessageContaining("string 'x'");
            assertThatThrownBy(() -> f.string("n", "d"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("'n'")
                    .hasMessageContaining("integer 7");
            assertThatThrownBy(() -> f.real("name", 0f)).isInstanceOf(GgufException.class);
            assertThatThrownBy(() -> f.bool("n", false)).isInstanceOf(GgufException.class);
            assertThatThrownBy(() -> f.stringArray("n")).isInstanceOf(GgufException.class);
            assertThatThrownBy(() -> f.floatArray("list"))
                    .isInstanceOf(GgufException.class)
                    .hasMessageContaining("array of 1 strings");
            assertThatThrownBy(() -> f.metadata().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        }
    }

    @Test
    void copyKeepsTheSourceType() {
        Path src = dir.resolve("src.gguf");
        new GgufWriter()
                .putUInt32("tok.bos", 1)
                .putInt32Array("tok.types", new int[] {2, 3})
                .putBool("tok.add", true)
                .write(src);
        Path dst = dir.resolve("dst.gguf");
        try (GgufFile f = GgufFile.open(src)) {
            new GgufWriter()
                    .copy(f, "tok.bos")
                    .copy(f, "tok.types")
                    .copy(f, "tok.add")
                    .write(dst);
        }
        try (GgufFile f = GgufFile.open(dst)) {
            assertThat(f.valueType("tok.bos")).isEqualTo(GgufValueType.UINT32);
            assertThat(f.arrayElementType("tok.types")).isEqualTo(GgufValueType.INT32);
            assertThat(f.intArray("tok.types")).containsExactly(2, 3);
            assertThat(f.bool("tok.add", false)).isTrue();
        }
    }

    @Test
    void writerRefusesWhatItCannotWrite() throws Exception {
        GgufWriter w = new GgufWriter();
        assertThatThrownBy(() -> w.putUInt8("k", 256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putInt32("k", 1L << 31)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putUInt32("k", -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putString("", "v")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putArray("k", GgufValueType.ARRAY, new long[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.putArray("k", GgufValueType.INT32, new float[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.alignment(48)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.F32, new long[] {4}, new byte[15]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("16");
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.Q8_0, new long[] {16, 2}, new byte[34]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block");
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new byte[4]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.F32, new long[] {0}, new byte[0]))
                .isInstanceOf(IllegalArgumentException.class);
        w.addTensor("t", GgmlType.F32, new long[] {4}, new byte[16]);
        assertThatThrownBy(() -> w.addTensor("t", GgmlType.F32, new long[] {4}, new byte[16]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("twice");

        Path out = dir.resolve("bad.gguf");
        GgufWriter lying = new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, () -> new byte[12]);
        assertThatThrownBy(() -> lying.write(out)).isInstanceOf(IllegalArgumentException.class);
        assertThat(out).doesNotExist();
        assertThat(out.resolveSibling("bad.gguf.tmp")).doesNotExist();
    }

    @Test
    void vocabularyOnlyFileEndsAfterItsMetadata() throws Exception {
        Path p = dir.resolve("vocab.gguf");
        new GgufWriter().putStringArray("tokenizer.ggml.tokens", "a", "b").write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.tensors()).isEmpty();
            assertThat(f.fileSize()).isEqualTo(Files.size(p));
            assertThat(f.stringArray("tokenizer.ggml.tokens")).containsExactly("a", "b");
        }
    }

    @Test
    void tensorDataPastTwoGibibytesIsAddressable() throws Exception {
        // A sparse file: the header says the one tensor has 2^29 + 2^28 F32 values (3 GiB), and the
        // file is stretched to hold them without writing them.
        Path p = dir.resolve("big.gguf");
        new GgufWriter()
                .addTensor("big", GgmlType.F32, new long[] {8, 4}, new byte[128])
                .write(p);
        byte[] b = Files.readAllBytes(p);
        int dims = indexOf(b, "big") + 3 + 4;
        java.nio.ByteBuffer.wrap(b)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putLong(dims, 1L << 28)
                .putLong(dims + 8, 3);
        Files.write(p, b);
        long dataOffset;
        try (var raf = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            dataOffset = b.length - 128; // the 128 bytes written for the original [8, 4] tensor end the file
            raf.setLength(dataOffset + (3L << 30));
            raf.seek(dataOffset + (3L << 30) - 4);
            raf.write(new byte[] {0, 0, (byte) 0x80, 0x3f}); // 1.0f, little-endian
        }
        try (GgufFile f = GgufFile.open(p)) {
            TensorInfo t = f.tensor("big");
            assertThat(t.byteSize()).isEqualTo(3L << 30);
            assertThat(f.fileSize()).isGreaterThan(1L << 31);
            MemorySegment data = f.tensorData(t);
            assertThat(data.byteSize()).isEqualTo(3L << 30);
            assertThat(data.get(
                            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                            (3L << 30) - 4))
                    .isEqualTo(1f);
            f.close();
            f.close(); // closing twice is harmless
        }
    }

    private static int indexOf(byte[] haystack, String s) {
        byte[] needle = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(s + " not found");
    }

    private static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }
}
