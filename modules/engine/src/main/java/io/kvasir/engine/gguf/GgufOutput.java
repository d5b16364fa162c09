package io.kvasir.engine.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * GGUF's wire encoding, written buffered to a new file: little-endian numbers, length-prefixed UTF-8
 * strings, typed metadata values. Counts the bytes written so the writer can align.
 */
final class GgufOutput implements AutoCloseable {

    private final FileChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long flushed;

    GgufOutput(Path path) throws IOException {
        channel = FileChannel.open(
                path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    long position() {
        return flushed + buf.position();
    }

    private void room(int n) throws IOException {
        if (buf.remaining() < n) {
            flush();
        }
    }

    private void flush() throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            flushed += channel.write(buf);
        }
        buf.clear();
    }

    void i8(int v) throws IOException {
        room(1);
        buf.put((byte) v);
    }

    void i16(int v) throws IOException {
        room(2);
        buf.putShort((short) v);
    }

    void i32(int v) throws IOException {
        room(4);
        buf.putInt(v);
    }

    void i64(long v) throws IOException {
        room(8);
        buf.putLong(v);
    }

    void f32(float v) throws IOException {
        room(4);
        buf.putFloat(v);
    }

    void f64(double v) throws IOException {
        room(8);
        buf.putDouble(v);
    }

    void string(String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        i64(b.length);
        bytes(b);
    }

    void bytes(byte[] b) throws IOException {
        if (b.length <= buf.remaining()) {
            buf.put(b);
            return;
        }
        flush();
        ByteBuffer wrapped = ByteBuffer.wrap(b);
        while (wrapped.hasRemaining()) {
            flushed += channel.write(wrapped);
        }
    }

    void zeros(long n) throws IOException {
        for (long i = 0; i < n; i++) {
            i8(0);
        }
    }

    void scalar(GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> i8((int) (long) (Long) v);
            case UINT16, INT16 -> i16((int) (long) (Long) v);
            case UINT32, INT32 -> i32((int) (long) (Long) v);
            case UINT64, INT64 -> i64((Long) v);
            case FLOAT32 -> f32((Float) v);
            case FLOAT64 -> f64((Double) v);
            case BOOL -> i8((Boolean) v ? 1 : 0);
            case STRING -> string((String) v);
            case ARRAY -> throw new IllegalStateException("arrays are written by array()");
        }
    }

    void array(GgufValueType elem, Object values) throws IOException {
        i32(elem.id());
        switch (values) {
            case String[] a -> {
                i64(a.length);
                for (String s : a) {
                    string(s);
                }
            }
            case float[] a -> {
                i64(a.length);
                for (float f : a) {
                    f32(f);
                }
            }
            case double[] a -> {
                i64(a.length);
                for (double d : a) {
                    f64(d);
                }
            }
            case boolean[] a -> {
                i64(a.length);
                for (boolean b : a) {
                    i8(b ? 1 : 0);
                }
            }
            case long[] a -> {
                i64(a.length);
                for (long l : a) {
                    scalar(elem, l);
                }
            }
            default -> throw new IllegalStateException("unexpected array " + values.getClass());
        }
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            channel.close();
        }
    }
}
