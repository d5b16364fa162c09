package io.kvasir.fabric.external;

import akka.NotUsed;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Framing;
import akka.stream.javadsl.FramingTruncation;
import akka.util.ByteString;

/**
 * An engine's Server-Sent Events body as the payloads of its {@code data:} lines. The engines we
 * front (vLLM, SGLang, llama.cpp) put each event in one data line, so a line is an event here;
 * comments, {@code event:}/{@code id:} lines and blank separators carry nothing we use. A line
 * longer than {@link #MAX_LINE} fails the stream (a broken engine, not a long token).
 */
final class SseLines {

    static final int MAX_LINE = 1 << 20;

    private SseLines() {}

    static Flow<ByteString, String, NotUsed> dataPayloads() {
        return Flow.<ByteString>create()
                // A last line without its newline (a body cut short) still reaches the translator,
                // which judges whether the stream ended properly.
                .via(Framing.delimiter(ByteString.fromString("\n"), MAX_LINE, FramingTruncation.ALLOW))
                .map(bytes -> stripCr(bytes.utf8String()))
                .filter(line -> line.startsWith("data:"))
                .map(line -> line.substring(5).strip());
    }

    private static String stripCr(String line) {
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }
}
