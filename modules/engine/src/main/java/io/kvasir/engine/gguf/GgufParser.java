package io.kvasir.engine.gguf;

import io.kvasir.engine.tensor.GgmlType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses the header of a mapped GGUF file: magic, version, metadata and tensor infos. Tensor data is
 * not touched; only its placement is checked (inside the file, aligned, not overlapping).
 */
final class GgufParser {

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    static final long DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4;
    /** Alignment is a power of two; past 1 GiB it can only be a corrupt value. */
    private static final long MAX_ALIGNMENT = 1L << 30;
    /** The smallest possible key/value pair: key length, empty key, type, one-byte value. */
    private static final long MIN_KV_BYTES = 8 + 4 + 1;
    /** The smallest possible tensor info: name length, rank, one dimension, type, offset. */
    private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

    record Header(
            int version,
            Map<String, Object> metadata,
            Map<String, GgufValueType> valueTypes,
            Map<String, GgufValueType> elementTypes,
            Map<String, Long> valueOffsets,
            List<TensorInfo> tensors,
            long alignment,
            long dataOffset) {}

    private final GgufCursor in;
    private final String fileName;

    private GgufParser(GgufCursor in, String fileName) {
        this.in = in;
        this.fileName = fileName;
    }

    static Header parse(GgufCursor in, String fileName) {
        return new GgufParser(in, fileName).header();
    }

    private Header header() {
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw new GgufException(fileName + ": not a GGUF file (magic 0x"
                    + Integer.toHexString(Integer.reverseBytes(magic)) + ", expected 0x47475546 \"GGUF\")");
        }
        int version = in.i32("version");
        if (version == 1) {
            throw new GgufException(fileName + ": GGUF version 1 is not supported (only versions 2 and 3); "
                    + "convert the file with a current llama.cpp");
        }
        if (version != 2 && version != 3) {
            String hint = Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
                    ? " (a big-endian file? only little-endian GGUF is supported)"
                    : "";
            throw new GgufException(fileName + ": unsupported GGUF version " + Integer.toUnsignedString(version) + hint
                    + "; supported: 2 and 3");
        }
        long tensorCount = in.count("tensor count", MIN_TENSOR_INFO_BYTES);
        long kvCount = in.count("metadata key/value count", MIN_KV_BYTES);

        Map<String, Object> metadata = new LinkedHashMap<>();
        Map<String, GgufValueType> valueTypes = new HashMap<>();
        Map<String, GgufValueType> elementTypes = new HashMap<>();
        // Where each value starts, so an error found later (a value of the wrong type) can say where to look.
        Map<String, Long> valueOffsets = new HashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position();
            String key = in.string("metadata key #" + i);
            // Quoted once, bounded: a corrupt length can make a "key" of megabytes of raw bytes.
            String quoted = ErrorText.quote(key);
            if (metadata.containsKey(key)) {
                throw new GgufException(fileName + ": duplicate metadata key " + quoted + " at byte " + at);
            }
            GgufValueType type = valueType("type of " + quoted, quoted);
            valueOffsets.put(key, in.position());
            if (type == GgufValueType.ARRAY) {
                long elemAt = in.position();
                GgufValueType elem = valueType("element type of " + quoted, quoted);
                if (elem == GgufValueType.ARRAY) {
                    throw in.failAt(elemAt, "metadata " + quoted + " is an array of arrays, which is not supported");
                }
                long n = in.count("array length of " + quoted, elem.minBytes());
                metadata.put(key, array(elem, (int) n, quoted));
                elementTypes.put(key, elem);
            } else {
                metadata.put(key, scalar(type, quoted));
            }
            valueTypes.put(key, type);
        }

        long alignment = alignment(metadata);
        List<TensorInfo> tensors = new ArrayList<>((int) tensorCount);
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = in.position();
            TensorInfo t = tensorInfo(i, alignment);
            if (!names.add(t.name())) {
                throw new GgufException(
                        fileName + ": duplicate tensor name " + ErrorText.quote(t.name()) + " at byte " + at);
            }
            tensors.add(t);
        }
        in.align(alignment);
        long dataOffset = in.position();
        checkPlacement(tensors, dataOffset);
        return new Header(
                version,
                Collections.unmodifiableMap(metadata),
                Map.copyOf(valueTypes),
                Map.copyOf(elementTypes),
                Map.copyOf(valueOffsets),
                List.copyOf(tensors),
                alignment,
                dataOffset);
    }

    /** {@code quotedKey} here and below is the key as {@link ErrorText#quote} shows it. */
    private GgufValueType valueType(String what, String quotedKey) {
        long at = in.position();
        int id = in.i32(what);
        GgufValueType type = GgufValueType.byId(id);
        if (type == null) {
            throw in.failAt(at, "metadata " + quotedKey + " has unknown value type " + Integer.toUnsignedString(id));
        }
        return type;
    }

    private Object scalar(GgufValueType type, String quotedKey) {
        String what = "value of " + quotedKey;
        return switch (type) {
            case UINT8 -> (long) in.u8(what);
            case INT8 -> (long) in.i8(what);
            case UINT16 -> (long) Short.toUnsignedInt(in.i16(what));
            case INT16 -> (long) in.i16(what);
            case UINT32 -> Integer.toUnsignedLong(in.i32(what));
            case INT32 -> (long) in.i32(what);
            // A UINT64 above Long.MAX_VALUE keeps its bits; no real key comes near that.
            case UINT64, INT64 -> in.i64(what);
            case FLOAT32 -> in.f32(what);
            case FLOAT64 -> in.f64(what);
            case BOOL -> in.bool(what);
            case STRING -> in.string(what);
            case ARRAY -> throw new IllegalStateException("arrays are read by array()");
        };
    }

    private Object array(GgufValueType elem, int n, String quotedKey) {
        String what = "an element of " + quotedKey;
        switch (elem) {
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.string(what);
                }
                return a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.f32(what);
                }
                return a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.f64(what);
                }
                return a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.bool(what);
                }
                return a;
            }
            default -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (Long) scalar(elem, quotedKey);
                }
                return a;
            }
        }
    }

    private long alignment(Map<String, Object> metadata) {
        Object v = metadata.get("general.alignment");
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (!(v instanceof Long a)) {
            throw new GgufException(fileName + ": general.alignment must be an integer, found " + GgufFile.describe(v));
        }
        if (a <= 0 || a > MAX_ALIGNMENT || Long.bitCount(a) != 1) {
            throw new GgufException(
                    fileName + ": general.alignment must be a power of two up to " + MAX_ALIGNMENT + ", found " + a);
        }
        return a;
    }

    private TensorInfo tensorInfo(long index, long alignment) {
        String name = in.string("name of tensor #" + index);
        String label = "tensor " + ErrorText.quote(name);
        // Checks name the field they reject: its offset is taken before it is read.
        long at = in.position();
        int rank = in.i32("rank of " + label);
        if (rank < 1 || rank > MAX_DIMS) {
            throw in.failAt(
                    at,
                    label + " has " + Integer.toUnsignedString(rank) + " dimensions; 1 to " + MAX_DIMS
                            + " are allowed");
        }
        long[] shape = new long[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++) {
            at = in.position();
            shape[d] = in.i64("dimension " + d + " of " + label);
            if (shape[d] <= 0) {
                throw in.failAt(
                        at,
                        label + " has dimension " + d + " = " + Long.toUnsignedString(shape[d])
                                + "; dimensions must be at least 1 and below 2^63");
            }
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw in.failAt(at, label + " shape " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        at = in.position();
        int typeId = in.i32("type of " + label);
        GgmlType type = GgmlType.byId(typeId);
        if (type == null) {
            throw in.failAt(at, label + " has unknown ggml type id " + Integer.toUnsignedString(typeId));
        }
        if (shape[0] % type.blockSize() != 0) {
            throw in.failAt(
                    at,
                    label + " of type " + type + " has a row of " + shape[0]
                            + " elements, not a multiple of its block size " + type.blockSize());
        }
        long byteSize;
        try {
            byteSize = Math.multiplyExact(elements / type.blockSize(), (long) type.blockBytes());
        } catch (ArithmeticException e) {
            throw in.failAt(at, label + " shape " + Arrays.toString(shape) + " takes more than 2^63 bytes");
        }
        at = in.position();
        long offset = in.i64("data offset of " + label);
        if (offset < 0) {
            throw in.failAt(at, label + " data offset " + Long.toUnsignedString(offset) + " is beyond 2^63");
        }
        if (offset % alignment != 0) {
            throw in.failAt(
                    at,
                    label + " data offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment "
                            + alignment);
        }
        return new TensorInfo(name, type, shape, offset, byteSize);
    }

    /** Every tensor's data lies inside the file, and no two tensors share bytes. */
    private void checkPlacement(List<TensorInfo> tensors, long dataOffset) {
        long fileSize = in.size();
        for (TensorInfo t : tensors) {
            long start = dataOffset + t.offset(); // both below 2^63, so the sum cannot wrap to positive
            long end = start + t.byteSize();
            if (start < 0 || end < 0 || end > fileSize) {
                throw new GgufException(fileName + ": tensor " + ErrorText.quote(t.name()) + " data ["
                        + Long.toUnsignedString(start) + ", " + Long.toUnsignedString(end)
                        + ") lies past the end of the file (size " + fileSize + ")");
            }
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(TensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            TensorInfo prev = byOffset.get(i - 1);
            TensorInfo next = byOffset.get(i);
            if (prev.offset() + prev.byteSize() > next.offset()) {
                throw new GgufException(fileName + ": tensors " + ErrorText.quote(prev.name()) + " and "
                        + ErrorText.quote(next.name()) + " overlap in the data section (at offsets "
                        + prev.offset() + " and " + next.offset() + ")");
            }
        }
    }
}
