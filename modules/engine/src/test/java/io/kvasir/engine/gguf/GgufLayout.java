package io.kvasir.engine.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the structural fields of a valid GGUF file lie, found by walking its header independently of
 * the parser under test, so a mutation can aim at a count, a length, a type or an offset instead of
 * only at random bytes (which mostly land in names and weights).
 */
record GgufLayout(List<Field> fields, List<Span> keyValues, List<Span> tensorInfos, int headerEnd) {

    enum Kind {
        TENSOR_COUNT,
        KV_COUNT,
        KEY_LENGTH,
        VALUE_TYPE,
        ELEMENT_TYPE,
        ARRAY_LENGTH,
        STRING_LENGTH,
        INT_VALUE,
        NAME_LENGTH,
        RANK,
        DIMENSION,
        TENSOR_TYPE,
        TENSOR_OFFSET
    }

    /** A field of {@code width} bytes at {@code offset}; {@code label} says which for failure reports. */
    record Field(Kind kind, int offset, int width, String label) {}

    /** One whole key/value record or tensor info, [start, end). */
    record Span(int start, int end, String label) {}

    static GgufLayout of(byte[] file) {
        return new Walker(file).walk();
    }

    private static final class Walker {
        private final ByteBuffer in;
        private final List<Field> fields = new ArrayList<>();
        private final List<Span> kvs = new ArrayList<>();
        private final List<Span> tensors = new ArrayList<>();

        Walker(byte[] file) {
            in = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        }

        GgufLayout walk() {
            in.position(8); // magic and version
            long tensorCount = field(Kind.TENSOR_COUNT, 8, "tensor count");
            long kvCount = field(Kind.KV_COUNT, 8, "kv count");
            for (long i = 0; i < kvCount; i++) {
                int start = in.position();
                String key = string(Kind.KEY_LENGTH, "key #" + i);
                int type = (int) field(Kind.VALUE_TYPE, 4, key);
                if (type == GgufValueType.ARRAY.id()) {
                    int elem = (int) field(Kind.ELEMENT_TYPE, 4, key);
                    long n = field(Kind.ARRAY_LENGTH, 8, key);
                    for (long j = 0; j < n; j++) {
                        value(elem, key + "[" + j + "]");
                    }
                } else {
                    value(type, key);
                }
                kvs.add(new Span(start, in.position(), key));
            }
            for (long i = 0; i < tensorCount; i++) {
                int start = in.position();
                String name = string(Kind.NAME_LENGTH, "tensor #" + i);
                int rank = (int) field(Kind.RANK, 4, name);
                for (int d = 0; d < rank; d++) {
                    field(Kind.DIMENSION, 8, name + " dim " + d);
                }
                field(Kind.TENSOR_TYPE, 4, name);
                field(Kind.TENSOR_OFFSET, 8, name);
                tensors.add(new Span(start, in.position(), name));
            }
            return new GgufLayout(List.copyOf(fields), List.copyOf(kvs), List.copyOf(tensors), in.position());
        }

        private void value(int type, String label) {
            GgufValueType t = GgufValueType.byId(type);
            switch (t) {
                case STRING -> string(Kind.STRING_LENGTH, label);
                case FLOAT32 -> skip(4);
                case FLOAT64 -> skip(8);
                case BOOL -> skip(1);
                default -> field(Kind.INT_VALUE, t.minBytes(), label);
            }
        }

        private String string(Kind kind, String label) {
            int len = (int) field(kind, 8, label);
            byte[] b = new byte[len];
            in.get(b);
            return new String(b, java.nio.charset.StandardCharsets.UTF_8);
        }

        private long field(Kind kind, int width, String label) {
            fields.add(new Field(kind, in.position(), width, label));
            return switch (width) {
                case 1 -> in.get();
                case 2 -> in.getShort();
                case 4 -> in.getInt();
                default -> in.getLong();
            };
        }

        private void skip(int n) {
            in.position(in.position() + n);
        }
    }
}
