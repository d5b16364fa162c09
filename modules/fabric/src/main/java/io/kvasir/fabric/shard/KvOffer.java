package io.kvasir.fabric.shard;

import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.fabric.CborSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * A prefill replica's exported KV on offer to a decode replica: the header travels in this message,
 * the block bytes as back-pressured {@link ByteString} chunks through a stream ref, so no single
 * remote message grows with the prompt.
 *
 * @param blockBytes length of each block, in order
 * @param cacheScope the prefix-cache scope the blocks belong to (they are imported under it)
 * @param error      why there is nothing to offer, or null
 */
public record KvOffer(
        int blockSize, int[] tokens, int[] blockBytes, String cacheScope, SourceRef<ByteString> data, String error)
        implements CborSerializable {

    static KvOffer failed(String error) {
        return new KvOffer(0, new int[0], new int[0], null, null, error);
    }

    /** Offers {@code transfer}; the stream ref waits for the decode replica to pull it. */
    static KvOffer of(KvTransfer transfer, int chunkBytes, Materializer materializer) {
        int[] lengths = new int[transfer.blocks().length];
        List<ByteString> chunks = new ArrayList<>();
        ByteStringBuilder current = new ByteStringBuilder();
        for (int i = 0; i < lengths.length; i++) {
            byte[] block = transfer.blocks()[i];
            lengths[i] = block.length;
            for (int off = 0; off < block.length; ) {
                int n = Math.min(chunkBytes - current.length(), block.length - off);
                current.putBytes(block, off, n);
                off += n;
                if (current.length() == chunkBytes) {
                    chunks.add(current.result());
                    current = new ByteStringBuilder();
                }
            }
        }
        if (current.length() > 0) {
            chunks.add(current.result());
        }
        SourceRef<ByteString> ref = Source.from(chunks).runWith(StreamRefs.sourceRef(), materializer);
        return new KvOffer(transfer.blockSize(), transfer.tokens(), lengths, transfer.cacheScope(), ref, null);
    }

    /** Pulls every chunk and rebuilds the transfer. */
    CompletionStage<KvTransfer> receive(Materializer materializer) {
        long expected = 0;
        for (int n : blockBytes) {
            expected += n;
        }
        long total = expected;
        return data.getSource()
                .runWith(Sink.fold(ByteString.emptyByteString(), ByteString::concat), materializer)
                .thenApply(all -> {
                    if (all.size() != total) {
                        throw new IllegalStateException(
                                "KV transfer carried " + all.size() + " bytes, expected " + total);
                    }
                    byte[][] blocks = new byte[blockBytes.length][];
                    int off = 0;
                    for (int i = 0; i < blocks.length; i++) {
                        blocks[i] = all.slice(off, off + blockBytes[i]).toArray();
                        off += blockBytes[i];
                    }
                    return new KvTransfer(blockSize, tokens, blocks, cacheScope);
                });
    }
}
