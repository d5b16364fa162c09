package io.kvasir.server.loadgen;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Incremental server-sent-events parser. Bytes are fed as they arrive, in chunks of any size; an
 * event is handed to the listener as soon as the blank line that ends it has arrived, so the
 * caller can time events by arrival. Lines are decoded only once complete, so a multi-byte UTF-8
 * character split across two reads is decoded correctly.
 */
public final class SseReader {

    /** One dispatched event: its {@code event:} type ("message" when absent) and joined data lines. */
    public record Event(String type, String data) {}

    @FunctionalInterface
    public interface Listener {
        /** Returns false to stop reading (for example after {@code [DONE]}). */
        boolean onEvent(Event event);
    }

    /** Longest line accepted; a server that never sends a newline must not exhaust memory. */
    static final int MAX_LINE_BYTES = 8 << 20;

    private final Listener listener;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private String type = "";
    private boolean lastWasCr;
    private boolean stopped;

    public SseReader(Listener listener) {
        this.listener = listener;
    }

    /**
     * Reads the stream to its end, feeding bytes as each read returns. Bytes after the listener
     * stops are read and dropped, so an HTTP/1.1 connection ends cleanly and can be reused.
     */
    public static void readAll(InputStream in, Listener listener) throws IOException {
        SseReader reader = new SseReader(listener);
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) >= 0) {
            if (!reader.stopped()) {
                reader.feed(buf, 0, n);
            }
        }
        reader.finish();
    }

    public boolean stopped() {
        return stopped;
    }

    public void feed(byte[] buf, int off, int len) {
        for (int i = off; i < off + len && !stopped; i++) {
            byte b = buf[i];
            if (b == '\n') {
                if (!lastWasCr) {
                    endLine();
                }
                lastWasCr = false;
            } else if (b == '\r') {
                endLine();
                lastWasCr = true;
            } else {
                lastWasCr = false;
                if (line.size() >= MAX_LINE_BYTES) {
                    throw new IllegalStateException("SSE line longer than " + MAX_LINE_BYTES + " bytes");
                }
                line.write(b);
            }
        }
    }

    /** End of stream: a final event without its blank line is still dispatched. */
    public void finish() {
        if (!stopped && line.size() > 0) {
            endLine();
        }
        dispatch();
    }

    private void endLine() {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        if (text.isEmpty()) {
            dispatch();
            return;
        }
        if (text.startsWith(":")) {
            return; // comment, often a keep-alive
        }
        int colon = text.indexOf(':');
        String field = colon < 0 ? text : text.substring(0, colon);
        String value = colon < 0 ? "" : text.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "data" -> {
                if (hasData) {
                    data.append('\n');
                }
                data.append(value);
                hasData = true;
            }
            case "event" -> type = value;
            default -> {
                // id, retry and unknown fields do not matter to a benchmark
            }
        }
    }

    private void dispatch() {
        if (stopped || !hasData) {
            type = "";
            return;
        }
        Event event = new Event(type.isEmpty() ? "message" : type, data.toString());
        data.setLength(0);
        hasData = false;
        type = "";
        if (!listener.onEvent(event)) {
            stopped = true;
        }
    }
}
