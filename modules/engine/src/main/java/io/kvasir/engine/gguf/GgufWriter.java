package io.kvasir.engine.gguf;

import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Builds a GGUF file (version 3 unless told otherwise): metadata in the order it was put, then tensor
 * infos and tensor data in the order tensors were added, each tensor's data aligned.
 *
 * <p>Putting a key a second time replaces its value in place. Tensor data may be given as bytes or
 * as a supplier called during {@link #write}, so a large model is never held in memory whole.
 * The file is written beside its destination and moved into place when complete.
 */
public final class GgufWriter {

    private record Entry(GgufValueType type, GgufValueType elementType, Object value) {}

    private record PendingTensor(String name, GgmlType type, long[] shape, long byteSize, Supplier<byte[]> data) {}

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final Map<String, PendingTensor> tensors = new LinkedHashMap<>();
    private long alignment = GgufParser.DEFAULT_ALIGNMENT;
    private int version = 3;

    /** GGUF version to write: 3 (the default) or 2, which share their little-endian layout. */
    public GgufWriter version(int version) {
        if (version != 2 && version != 3) {
            throw new IllegalArgumentException("can write GGUF versions 2 and 3, not " + version);
        }
        this.version = version;
        return this;
    }

    /**
     * Alignment of tensor data; a power of two. Anything but the default 32 is recorded as
     * {@code general.alignment} (UINT32), as readers expect.
     */
    public GgufWriter alignment(long alignment) {
        if (alignment <= 0 || alignment > (1L << 30) || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two up to 2^30, not " + alignment);
        }
        this.alignment = alignment;
        if (alignment != GgufParser.DEFAULT_ALIGNMENT) {
            putUInt32("general.alignment", alignment);
        } else {
            metadata.remove("general.alignment");
        }
        return this;
    }

    // ---- scalars --------------------------------------------------------------------------------

    public GgufWriter putUInt8(String key, long v) {
        return put(key, GgufValueType.UINT8, v);
    }

    public GgufWriter putInt8(String key, long v) {
        return put(key, GgufValueType.INT8, v);
    }

    public GgufWriter putUInt16(String key, long v) {
        return put(key, GgufValueType.UINT16, v);
    }

    public GgufWriter putInt16(String key, long v) {
        return put(key, GgufValueType.INT16, v);
    }

    public GgufWriter putUInt32(String key, long v) {
        return put(key, GgufValueType.UINT32, v);
    }

    public GgufWriter putInt32(String key, long v) {
        return put(key, GgufValueType.INT32, v);
    }

    /** Values above Long.MAX_VALUE are given as their (negative) two's-complement bits. */
    public GgufWriter putUInt64(String key, long v) {
        return put(key, GgufValueType.UINT64, v);
    }

    public GgufWriter putInt64(String key, long v) {
        return put(key, GgufValueType.INT64, v);
    }

    public GgufWriter putFloat32(String key, float v) {
        return put(key, GgufValueType.FLOAT32, v);
    }

    public GgufWriter putFloat64(String key, double v) {
        return put(key, GgufValueType.FLOAT64, v);
    }

    public GgufWriter putBool(String key, boolean v) {
        return put(key, GgufValueType.BOOL, v);
    }

    public GgufWriter putString(String key, String v) {
        return put(key, GgufValueType.STRING, v);
    }

    // ---- arrays ---------------------------------------------------------------------------------

    public GgufWriter putStringArray(String key, String... values) {
        return putArray(key, GgufValueType.STRING, values.clone());
    }

    public GgufWriter putStringArray(String key, List<String> values) {
        return putArray(key, GgufValueType.STRING, values.toArray(String[]::new));
    }

    public GgufWriter putFloatArray(String key, float[] values) {
        return putArray(key, GgufValueType.FLOAT32, values.clone());
    }

    /** An INT32 array, as llama.cpp stores token types. */
    public GgufWriter putInt32Array(String key, int[] values) {
        return putArray(
                key, GgufValueType.INT32, Arrays.stream(values).asLongStream().toArray());
    }

    /**
     * An array of any element type but ARRAY: {@code long[]} for the integer types, {@code float[]},
     * {@code double[]}, {@code boolean[]} or {@code String[]}, as {@link GgufFile} returns them.
     */
    public GgufWriter putArray(String key, GgufValueType elementType, Object values) {
        checkKey(key);
        Objects.requireNonNull(elementType, "elementType");
        Object copy = switch (elementType) {
            case ARRAY -> throw new IllegalArgumentException(key + ": arrays of arrays are not supported");
            case STRING -> {
                String[] a = cast(key, values, String[].class).clone();
                for (String s : a) {
                    Objects.requireNonNull(s, () -> key + ": null string in array");
                }
                yield a;
            }
            case FLOAT32 -> cast(key, values, float[].class).clone();
            case FLOAT64 -> cast(key, values, double[].class).clone();
            case BOOL -> cast(key, values, boolean[].class).clone();
            default -> {
                long[] a = cast(key, values, long[].class).clone();
                for (long v : a) {
                    checkRange(key, elementType, v);
                }
                yield a;
            }
        };
        metadata.put(key, new Entry(GgufValueType.ARRAY, elementType, copy));
        return this;
    }

    /**
     * A value of any type, given as {@link GgufFile#metadata()} holds it: {@code Long} for every
     * integer type, {@code Float}, {@code Double}, {@code Boolean}, {@code String}; for
     * {@link GgufValueType#ARRAY} use {@link #putArray}.
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        checkKey(key);
        Objects.requireNonNull(type, "type");
        Object v = switch (type) {
            case ARRAY -> throw new IllegalArgumentException(key + ": use putArray for arrays");
            case STRING -> cast(key, value, String.class);
            case FLOAT32 -> cast(key, value, Float.class);
            case FLOAT64 -> cast(key, value, Double.class);
            case BOOL -> cast(key, value, Boolean.class);
            default -> {
                long l = cast(key, value, Long.class);
                checkRange(key, type, l);
                yield l;
            }
        };
        metadata.put(key, new Entry(type, null, v));
        return this;
    }

    /** Copies one key from another file with the type it has there. */
    public GgufWriter copy(GgufFile from, String key) {
        Object v = from.metadata().get(key);
        if (v == null) {
            throw new IllegalArgumentException(from.path() + " has no metadata key '" + key + "'");
        }
        GgufValueType type = from.valueType(key);
        return type == GgufValueType.ARRAY ? putArray(key, from.arrayElementType(key), v) : put(key, type, v);
    }

    // ---- tensors --------------------------------------------------------------------------------

    /** A tensor whose bytes are already encoded in {@code type}'s block layout. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, byte[] data) {
        byte[] copy = data.clone();
        long expected = checkTensor(name, type, shape);
        if (copy.length != expected) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " and shape "
                    + Arrays.toString(shape) + " needs " + expected + " bytes, got " + copy.length);
        }
        tensors.put(name, new PendingTensor(name, type, shape.clone(), expected, () -> copy));
        return this;
    }

    /** A tensor whose bytes are produced while the file is written; their length is checked then. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, Supplier<byte[]> data) {
        long expected = checkTensor(name, type, shape);
        tensors.put(name, new PendingTensor(name, type, shape.clone(), expected, Objects.requireNonNull(data)));
        return this;
    }

    private long checkTensor(String name, GgmlType type, long[] shape) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        if (shape.length < 1 || shape.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' needs 1 to 4 dimensions, got " + shape.length);
        }
        long elements = 1;
        for (long d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a dimension " + d + " < 1");
            }
            elements = Math.multiplyExact(elements, d);
        }
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': a row of " + shape[0] + " " + type
                    + " elements is not a whole number of " + type.blockSize() + "-element blocks");
        }
        return type.bytesFor(elements);
    }

    // ---- output ---------------------------------------------------------------------------------

    /** Writes the file; on failure nothing is left at {@code out}. */
    public void write(Path out) {
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        try {
            try (GgufOutput o = new GgufOutput(tmp)) {
                writeTo(o);
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(tmp, e);
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp, e);
            throw e;
        }
    }

    private static void deleteQuietly(Path tmp, Exception cause) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException suppressed) {
            cause.addSuppressed(suppressed);
        }
    }

    private void writeTo(GgufOutput o) throws IOException {
        o.i32(GgufParser.MAGIC);
        o.i32(version);
        o.i64(tensors.size());
        o.i64(metadata.size());
        for (Map.Entry<String, Entry> e : metadata.entrySet()) {
            o.string(e.getKey());
            Entry v = e.getValue();
            o.i32(v.type().id());
            if (v.type() == GgufValueType.ARRAY) {
                o.array(v.elementType(), v.value());
            } else {
                o.scalar(v.type(), v.value());
            }
        }
        List<Long> offsets = new ArrayList<>();
        long offset = 0;
        for (PendingTensor t : tensors.values()) {
            o.string(t.name());
            o.i32(t.shape().length);
            for (long d : t.shape()) {
                o.i64(d);
            }
            o.i32(t.type().id());
            o.i64(offset);
            offsets.add(offset);
            offset = pad(offset + t.byteSize());
        }
        if (tensors.isEmpty()) {
            return; // a vocabulary-only file ends after its metadata
        }
        o.zeros(pad(o.position()) - o.position());
        long dataStart = o.position();
        int i = 0;
        for (PendingTensor t : tensors.values()) {
            o.zeros(dataStart + offsets.get(i++) - o.position());
            byte[] bytes = t.data().get();
            if (bytes.length != t.byteSize()) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' of type " + t.type() + " and shape "
                        + Arrays.toString(t.shape()) + " needs " + t.byteSize() + " bytes, got " + bytes.length);
            }
            o.bytes(bytes);
        }
    }

    private long pad(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static void checkKey(String key) {
        Objects.requireNonNull(key, "key");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("metadata keys must not be empty");
        }
    }

    private static <T> T cast(String key, Object value, Class<T> type) {
        if (!type.isInstance(value)) {
            throw new IllegalArgumentException(key + ": expected a " + type.getSimpleName() + ", got "
                    + (value == null ? "null" : value.getClass().getSimpleName()));
        }
        return type.cast(value);
    }

    private static void checkRange(String key, GgufValueType type, long v) {
        boolean ok = switch (type) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            default -> true;
        };
        if (!ok) {
            throw new IllegalArgumentException(key + ": " + v + " does not fit " + type);
        }
    }
}
