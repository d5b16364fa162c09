package io.kvasir.engine.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A GGUF file (versions 2 and 3), mapped read-only. The header is parsed and checked when the file
 * is opened; tensor data stays in the mapping and is handed out as slices of it, so a model's
 * weights are paged in by the OS as they are used and files past 2 GiB work.
 *
 * <p>Closing the file unmaps it: every segment from {@link #tensorData} becomes unusable, so the
 * owner of the model closes it only after every reader of its weights is done.
 *
 * <p>Metadata values are {@code String}, {@code Boolean}, {@code Long} (every integer type, unsigned
 * ones widened), {@code Float} (float32), {@code Double} (float64), or arrays: {@code String[]},
 * {@code long[]} (every integer element type), {@code float[]}, {@code double[]}, {@code boolean[]}.
 * The arrays in {@link #metadata()} are the file's own; the typed getters return copies.
 */
public final class GgufFile implements AutoCloseable {

    /** One mapped file: the whole model, or one part of a split model. */
    record Part(Path path, Arena arena, MemorySegment mapped, GgufParser.Header header) {}

    private final Path path;
    private final String fileName;
    /** The first part holds the model's metadata; a file that is not split is its only part. */
    private final List<Part> parts;

    private final GgufParser.Header header;
    private final List<TensorInfo> tensors;
    private final Map<String, TensorInfo> tensorsByName;
    private final Map<String, Part> partOfTensor;
    private final AtomicBoolean closed = new AtomicBoolean();

    private GgufFile(List<Part> parts) {
        this.parts = List.copyOf(parts);
        this.path = parts.getFirst().path();
        this.fileName = String.valueOf(path.getFileName());
        this.header = parts.getFirst().header();
        List<TensorInfo> all = new ArrayList<>();
        Map<String, TensorInfo> byName = new HashMap<>();
        Map<String, Part> partOf = new HashMap<>();
        for (Part part : parts) {
            for (TensorInfo t : part.header().tensors()) {
                all.add(t);
                byName.put(t.name(), t);
                partOf.put(t.name(), part);
            }
        }
        this.tensors = List.copyOf(all);
        this.tensorsByName = Map.copyOf(byName);
        this.partOfTensor = Map.copyOf(partOf);
    }

    /**
     * Maps and parses a GGUF file. Anything wrong with it, including its absence, is a
     * {@link GgufException} naming the file and the problem.
     *
     * <p>The first part of a split model ({@code name-00001-of-00003.gguf}, as llama.cpp's
     * {@code gguf-split} writes them) opens the whole model: the other parts are mapped from the
     * same directory, their tensors are found by name across the parts, and the metadata is the
     * first part's. The parts' {@code split.*} keys are checked against each other.
     */
    public static GgufFile open(Path path) {
        Part first = openPart(path);
        List<Part> parts = new ArrayList<>(List.of(first));
        try {
            for (Path next : GgufSplits.otherParts(first)) {
                parts.add(openPart(next));
            }
            GgufSplits.check(parts);
            return new GgufFile(parts);
        } catch (RuntimeException e) {
            parts.forEach(p -> p.arena().close());
            throw e;
        }
    }

    private static Part openPart(Path path) {
        String name = String.valueOf(path.getFileName());
        if (java.nio.file.Files.isDirectory(path)) {
            // Mapping a directory fails with the kernel's "No such device", which names nothing.
            throw new GgufException(name + ": is a directory, not a GGUF file");
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            GgufParser.Header header = GgufParser.parse(new GgufCursor(mapped, name), name);
            return new Part(path, arena, mapped, header);
        } catch (IOException e) {
            arena.close();
            throw new GgufException(name + ": cannot read " + path + ": " + e, e);
        } catch (GgufException e) {
            arena.close();
            throw e;
        } catch (RuntimeException e) {
            // The parser checks every read, so this is a bug in it; still keep the promise that
            // opening a bad file fails with a GgufException, and keep the cause.
            arena.close();
            throw new GgufException(name + ": cannot parse: " + e, e);
        }
    }

    /** Unmaps the file (once; later calls do nothing). Tensor data handed out earlier must not be used afterwards. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            parts.forEach(p -> p.arena().close());
        }
    }

    /** The file opened: the first part of a split model. */
    public Path path() {
        return path;
    }

    /** Every file of the model in order: one, or each part of a split model. */
    public List<Path> parts() {
        return parts.stream().map(Part::path).toList();
    }

    public int version() {
        return header.version();
    }

    /** Alignment of the data section and of every tensor's data within it. */
    public long alignment() {
        return header.alignment();
    }

    /** Where the data section starts, in bytes from the start of the (first part's) file. */
    public long dataOffset() {
        return header.dataOffset();
    }

    /** Bytes of every part together. */
    public long fileSize() {
        return parts.stream().mapToLong(p -> p.mapped().byteSize()).sum();
    }

    // ---- metadata -------------------------------------------------------------------------------

    /** Every key and value, in file order; unmodifiable. */
    public Map<String, Object> metadata() {
        return header.metadata();
    }

    public boolean has(String key) {
        return header.metadata().containsKey(key);
    }

    /** The type the value was stored with in the file, or null when the key is absent. */
    public GgufValueType valueType(String key) {
        return header.valueTypes().get(key);
    }

    /** The element type of an array value, or null when the key is absent or not an array. */
    public GgufValueType arrayElementType(String key) {
        return header.elementTypes().get(key);
    }

    public String string(String key) {
        return typed(key, String.class, "a string");
    }

    public String string(String key, String def) {
        return has(key) ? string(key) : def;
    }

    /** Any integer value, unsigned types widened. */
    public long integer(String key) {
        return typed(key, Long.class, "an integer");
    }

    public long integer(String key, long def) {
        return has(key) ? integer(key) : def;
    }

    /** Any numeric value (integer, float32 or float64) as a float. */
    public float real(String key) {
        Object v = require(key);
        if (v instanceof Number n) {
            return n.floatValue();
        }
        throw wrongType(key, "a number", v);
    }

    public float real(String key, float def) {
        return has(key) ? real(key) : def;
    }

    public boolean bool(String key, boolean def) {
        return has(key) ? typed(key, Boolean.class, "a bool") : def;
    }

    public String[] stringArray(String key) {
        return typed(key, String[].class, "an array of strings").clone();
    }

    /** A float32 array as is; float64 and integer arrays converted. */
    public float[] floatArray(String key) {
        Object v = require(key);
        return switch (v) {
            case float[] a -> a.clone();
            case double[] a -> {
                float[] f = new float[a.length];
                for (int i = 0; i < a.length; i++) {
                    f[i] = (float) a[i];
                }
                yield f;
            }
            case long[] a -> {
                float[] f = new float[a.length];
                for (int i = 0; i < a.length; i++) {
                    f[i] = a[i];
                }
                yield f;
            }
            default -> throw wrongType(key, "an array of numbers", v);
        };
    }

    /** An integer array whose every element fits an int. */
    public int[] intArray(String key) {
        long[] a = typed(key, long[].class, "an array of integers");
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] != (int) a[i]) {
                throw new GgufException(fileName + ": metadata " + ErrorText.quote(key) + " element " + i + " = " + a[i]
                        + " does not fit a 32-bit int" + at(key));
            }
            out[i] = (int) a[i];
        }
        return out;
    }

    private Object require(String key) {
        Object v = metadata().get(key);
        if (v == null) {
            throw new GgufException(fileName + ": metadata key " + ErrorText.quote(key) + " is missing");
        }
        return v;
    }

    private <T> T typed(String key, Class<T> type, String expected) {
        Object v = require(key);
        if (!type.isInstance(v)) {
            throw wrongType(key, expected, v);
        }
        return type.cast(v);
    }

    private GgufException wrongType(String key, String expected, Object found) {
        return new GgufException(fileName + ": metadata " + ErrorText.quote(key) + " should be " + expected + ", found "
                + describe(found) + at(key));
    }

    /** Where the key's value starts in the file, for error messages. */
    private String at(String key) {
        Long offset = header.valueOffsets().get(key);
        return offset == null ? "" : " (value at byte " + offset + ")";
    }

    /** A short, bounded description of a metadata value for error messages. */
    static String describe(Object v) {
        return switch (v) {
            case String s -> "string " + ErrorText.quote(s);
            case Long l -> "integer " + l;
            case Float f -> "float32 " + f;
            case Double d -> "float64 " + d;
            case Boolean b -> "bool " + b;
            case String[] a -> "array of " + a.length + " strings";
            case long[] a -> "array of " + a.length + " integers";
            case float[] a -> "array of " + a.length + " float32";
            case double[] a -> "array of " + a.length + " float64";
            case boolean[] a -> "array of " + a.length + " bools";
            default -> v.getClass().getSimpleName();
        };
    }

    // ---- tensors --------------------------------------------------------------------------------

    /** Tensor infos in file order (part by part for a split model). */
    public List<TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo tensor(String name) {
        TensorInfo t = tensorsByName.get(name);
        if (t == null) {
            throw new GgufException(fileName + ": no tensor named " + ErrorText.quote(name));
        }
        return t;
    }

    public Optional<TensorInfo> findTensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /** The tensor's bytes, a read-only slice of the mapping, valid until {@link #close()}. */
    public MemorySegment tensorData(TensorInfo t) {
        if (tensorsByName.get(t.name()) != t && !t.equals(tensorsByName.get(t.name()))) {
            throw new GgufException(fileName + ": tensor " + ErrorText.quote(t.name()) + " is not from this file");
        }
        Part part = partOfTensor.get(t.name());
        return part.mapped().asSlice(part.header().dataOffset() + t.offset(), t.byteSize());
    }

    @Override
    public String toString() {
        String split = parts.size() > 1 ? ", " + parts.size() + " parts" : "";
        return "GgufFile[" + fileName + split + ", v" + version() + ", "
                + metadata().size() + " keys, " + tensors().size() + " tensors]";
    }
}
