package io.kvasir.engine.model;

import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A minimal GGUF v3 writer for test models: the value types a Llama header needs, 32-byte alignment. */
final class TestGgufWriter {

    private static final int ALIGN = 32;

    private record Tensor(String name, GgmlType type, long[] shape, byte[] data) {
    }

    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    /** Values: String, Integer (uint32), Float (float32). */
    TestGgufWriter put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    TestGgufWriter tensor(String name, GgmlType type, long[] shape, byte[] data) {
        tensors.add(new Tensor(name, type, shape, data));
        return this;
    }

    void write(Path path) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put("GGUF".getBytes(StandardCharsets.US_ASCII)).putInt(3).putLong(tensors.size()).putLong(metadata.size());
        for (Map.Entry<String, Object> e : metadata.entrySet()) {
            string(b, e.getKey());
            switch (e.getValue()) {
                case String s -> {
                    b.putInt(8);
                    string(b, s);
                }
                case Integer i -> b.putInt(4).putInt(i);
                case Float f -> b.putInt(6).putFloat(f);
                default -> throw new IllegalArgumentException("unsupported value " + e.getValue());
            }
        }
        long offset = 0;
        for (Tensor t : tensors) {
            string(b, t.name());
            b.putInt(t.shape().length);
            for (long d : t.shape()) {
                b.putLong(d);
            }
            b.putInt(t.type().id()).putLong(offset);
            offset = align(offset + t.data().length);
        }
        int headerEnd = (int) align(b.position());
        byte[] out = new byte[(int) (headerEnd + offset)];
        System.arraycopy(b.array(), 0, out, 0, b.position());
        long pos = headerEnd;
        for (Tensor t : tensors) {
            System.arraycopy(t.data(), 0, out, (int) pos, t.data().length);
            pos = headerEnd + align(pos - headerEnd + t.data().length);
        }
        Files.write(path, out);
    }

    private static long align(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    private static void string(ByteBuffer b, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        b.putLong(bytes.length).put(bytes);
    }
}
