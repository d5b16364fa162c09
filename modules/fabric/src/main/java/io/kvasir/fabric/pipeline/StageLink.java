package io.kvasir.fabric.pipeline;

import akka.NotUsed;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Framing;
import akka.util.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * How frames cross a stream ref between stages. A frame (a prefill chunk's hidden states, a batch's
 * logits) can be megabytes, but each stream-ref element is one Artery message and must fit one
 * frame of the transport (256 KiB by default); so a frame is length-prefixed and cut into chunks
 * on the way out, and put together again on the way in.
 */
final class StageLink {

    /** Largest frame a stage accepts: far above any step (it bounds a corrupt length prefix). */
    static final int MAX_FRAME = 512 << 20;

    private StageLink() {}

    /** Frames in, chunks of at most {@code chunkBytes} out. */
    static Flow<ByteString, ByteString, NotUsed> outgoing(int chunkBytes) {
        return Flow.<ByteString>create().mapConcat(frame -> chunks(lengthPrefixed(frame), chunkBytes));
    }

    /** Chunks in, whole frames out. */
    static Flow<ByteString, ByteString, NotUsed> incoming() {
        return Flow.<ByteString>create()
                .via(Framing.lengthField(4, 0, MAX_FRAME + 4, ByteOrder.BIG_ENDIAN))
                .map(framed -> framed.drop(4));
    }

    static ByteString lengthPrefixed(ByteString frame) {
        if (frame.size() > MAX_FRAME) {
            throw new IllegalArgumentException("a pipeline frame of " + frame.size() + " bytes is too large");
        }
        byte[] header = ByteBuffer.allocate(4)
                .order(ByteOrder.BIG_ENDIAN)
                .putInt(frame.size())
                .array();
        return ByteString.fromArrayUnsafe(header).concat(frame);
    }

    static List<ByteString> chunks(ByteString bytes, int chunkBytes) {
        List<ByteString> out = new ArrayList<>(bytes.size() / chunkBytes + 1);
        for (int off = 0; off < bytes.size(); off += chunkBytes) {
            out.add(bytes.slice(off, Math.min(bytes.size(), off + chunkBytes)).compact());
        }
        return out;
    }
}
