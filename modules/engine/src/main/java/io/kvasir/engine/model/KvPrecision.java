package io.kvasir.engine.model;

/** How keys and values are stored in the paged KV cache. F16 halves the memory at a small precision cost. */
public enum KvPrecision {
    F32(4),
    F16(2);

    private final int bytes;

    KvPrecision(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes one stored value takes. */
    public int bytes() {
        return bytes;
    }
}
