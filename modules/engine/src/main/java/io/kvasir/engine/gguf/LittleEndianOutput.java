package io.kvasir.engine.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Buffered little-endian writes to a new file, counting the bytes written. */
final class LittleEndianOutput implements AutoCloseable {

    private final FileChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    private long flushed;

    LittleEndianOutput(Path path) throws IOException {
        channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
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

    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            channel.close();
        }
    }
}
