package io.kvasir.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A read position in a mapped GGUF file. Every read checks the bytes left first, so a truncated or
 * lying file ends in a {@link GgufException} naming the file, the offset and what was being read,
 * never in an index error. Lengths read from the file are checked against the bytes left before
 * anything is allocated for them.
 */
final class GgufCursor {

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Java arrays cannot hold more than this; a longer GGUF array or string is refused. */
    static final long MAX_JAVA_ARRAY = Integer.MAX_VALUE - 8;

    private final MemorySegment segment;
    private final String fileName;
    private long position;

    GgufCursor(MemorySegment segment, String fileName) {
        this.segment = segment;
        this.fileName = fileName;
    }

    long position() {
        return position;
    }

    long size() {
        return segment.byteSize();
    }

    long remaining() {
        return segment.byteSize() - position;
    }

    /** A failure at the current position, worded for an operator. */
    GgufException fail(String problem) {
        return failAt(position, problem);
    }

    /** A failure in the field that starts at {@code offset}, for checks made after reading it. */
    GgufException failAt(long offset, String problem) {
        return new GgufException(fileName + ": " + problem + " (at byte " + offset + ")");
    }

    private void need(long bytes, String what) {
        if (bytes > remaining()) {
            throw fail("file ends while reading " + what + ": needs " + bytes + " bytes, " + remaining()
                    + " left (truncated?)");
        }
    }

    int u8(String what) {
        need(1, what);
        return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, position++));
    }

    byte i8(String what) {
        need(1, what);
        return segment.get(ValueLayout.JAVA_BYTE, position++);
    }

    short i16(String what) {
        need(2, what);
        short v = segment.get(U16, position);
        position += 2;
        return v;
    }

    int i32(String what) {
        need(4, what);
        int v = segment.get(U32, position);
        position += 4;
        return v;
    }

    long i64(String what) {
        need(8, what);
        long v = segment.get(U64, position);
        position += 8;
        return v;
    }

    float f32(String what) {
        need(4, what);
        float v = segment.get(F32, position);
        position += 4;
        return v;
    }

    double f64(String what) {
        need(8, what);
        double v = segment.get(F64, position);
        position += 8;
        return v;
    }

    boolean bool(String what) {
        int b = u8(what);
        if (b > 1) {
            position--;
            throw fail(what + ": a bool must be 0 or 1, found " + b);
        }
        return b == 1;
    }

    /**
     * An unsigned 64-bit count or size that must fit the bytes left: {@code count} items of at
     * least {@code minItemBytes} each. Checked before the caller allocates anything for them.
     */
    long count(String what, long minItemBytes) {
        long start = position;
        long n = i64(what);
        long fits = minItemBytes == 0 ? MAX_JAVA_ARRAY : remaining() / minItemBytes;
        if (n < 0 || n > fits || n > MAX_JAVA_ARRAY) {
            position = start;
            throw fail(what + " is " + Long.toUnsignedString(n) + ", but only " + remaining() + " bytes are left"
                    + (minItemBytes > 1 ? " (at least " + minItemBytes + " bytes each)" : ""));
        }
        return n;
    }

    /** A GGUF string: a 64-bit byte length, then UTF-8 bytes (not terminated). */
    String string(String what) {
        int len = (int) count("length of " + what, 1);
        if (len == 0) {
            return ""; // shared, so a file of empty strings costs a reference each, not an object each
        }
        byte[] bytes = new byte[len];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, position, bytes, 0, len);
        position += len;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Moves to the next multiple of {@code alignment}, which may lie past the end of the file. */
    void align(long alignment) {
        long rem = position % alignment;
        if (rem != 0) {
            position += alignment - rem;
        }
    }
}
