package io.kvasir.engine.gguf;

/**
 * The value types of GGUF metadata, with their numbers in the file. Readers widen the integer types
 * to {@code long}; the type is kept so that a value can be written back exactly as it was found
 * (llama.cpp checks, for instance, that {@code tokenizer.ggml.bos_token_id} is a UINT32).
 */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, 8),
    ARRAY(9, 12),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private final int id;
    private final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public int id() {
        return id;
    }

    /** The fewest bytes one value of this type can take in a file (a string's length prefix alone, say). */
    int minBytes() {
        return minBytes;
    }

    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }

    private static final GgufValueType[] BY_ID = values();

    /** The type with this number, or null when it is not one GGUF defines. */
    public static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
