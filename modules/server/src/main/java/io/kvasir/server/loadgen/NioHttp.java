package io.kvasir.server.loadgen;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * HTTP/1.1 for the load generator on non-blocking sockets, every connection served by one selector
 * thread that also takes the timestamps ({@code bench serve --client nio}). A blocking client times
 * each answer when its reading thread next runs, and at hundreds of requests at once on the cores
 * the server uses too, that wait could be part of what it reports. Here a request is stamped as its
 * first byte is written and each answer's head and server-sent events as the read that brought them
 * returns, in a loop that does little else per read (framing and splitting events; the JSON inside
 * is parsed by the caller afterwards): what it reports is the server's time, the kernel's and this
 * loop's. It also sends a burst as one: 240 requests went out within 1.5 ms (benchmarks.md,
 * nineteenth session).
 *
 * <p>Callers block on {@link #send}'s future (virtual threads in the load runners). Plain text only;
 * answers framed by length, by chunks or by the connection's end; connections kept alive and reused.
 */
final class NioHttp implements AutoCloseable {

    /** A server-sent event and when the read that completed it returned ({@link System#nanoTime}). */
    record Stamped(SseReader.Event event, long nanos) {}

    /**
     * One exchange's outcome.
     *
     * @param status     the answer's status, 0 when none arrived
     * @param headers    the answer's headers, names in lower case
     * @param sentNanos  when the request's first byte was written
     * @param headNanos  when the answer's head was complete (0 when none)
     * @param endNanos   when the exchange ended
     * @param events     the body's server-sent events, stamped (a 200 answer's)
     * @param body       the first {@link #MAX_KEPT_BODY} bytes of the body
     * @param failure    why the exchange did not end with a whole answer; null when it did
     * @param unanswered the connection ended before any byte of an answer: the request may be resent
     */
    record Reply(
            int status,
            Map<String, String> headers,
            long sentNanos,
            long headNanos,
            long endNanos,
            List<Stamped> events,
            byte[] body,
            String failure,
            boolean unanswered) {

        String header(String name) {
            return headers.get(name.toLowerCase(java.util.Locale.ROOT));
        }
    }

    static final int MAX_KEPT_BODY = RequestDriver.MAX_ERROR_BODY;

    private static final long CHECK_EVERY_NANOS = 50_000_000L;

    private final InetSocketAddress address;
    private final String hostHeader;
    private final long timeoutNanos;
    private final Selector selector;
    private final Thread loop;
    private final Queue<Exchange> submitted = new ConcurrentLinkedQueue<>();
    /** Connections open and between exchanges; touched by the loop's thread only. */
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();

    private volatile boolean closing;

    NioHttp(URI server, Duration timeout) throws IOException {
        if (!"http".equals(server.getScheme())) {
            throw new IllegalArgumentException("the nio client is plain text only, got " + server);
        }
        int port = server.getPort() < 0 ? 80 : server.getPort();
        this.address = new InetSocketAddress(server.getHost(), port);
        this.hostHeader = server.getHost() + ":" + port;
        this.timeoutNanos = Math.max(1, timeout.toNanos());
        this.selector = Selector.open();
        this.loop = Thread.ofPlatform().name("bench-nio").daemon().unstarted(this::run);
        loop.start();
    }

    /** A request's bytes: head and body. */
    byte[] request(String method, String path, Map<String, String> headers, byte[] body) {
        byte[] head = io.kvasir.http.client.RawHttp.requestHead(
                method, path, hostHeader, headers, body == null ? -1 : body.length);
        if (body == null) {
            return head;
        }
        byte[] all = java.util.Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /**
     * Sends {@code request} on an idle connection, or on a new one when {@code fresh} or none is idle.
     * The future never fails: faults come back as a {@link Reply} with a {@code failure}.
     */
    CompletableFuture<Reply> send(byte[] request, boolean fresh) {
        Exchange e = new Exchange(request, fresh);
        if (closing) {
            e.future.complete(e.failed("the client is closed", 0, false));
            return e.future;
        }
        submitted.add(e);
        if (closing && submitted.remove(e)) {
            // The loop may have drained its queue for the last time already.
            e.future.complete(e.failed("the client is closed", 0, false));
        }
        selector.wakeup();
        return e.future;
    }

    @Override
    public void close() {
        closing = true;
        selector.wakeup();
        try {
            loop.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        long lastCheck = System.nanoTime();
        try {
            while (!closing) {
                selector.select(CHECK_EVERY_NANOS / 1_000_000);
                Exchange e;
                while ((e = submitted.poll()) != null) {
                    start(e);
                }
                for (SelectionKey key : selector.selectedKeys()) {
                    ready(key);
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                if (now - lastCheck >= CHECK_EVERY_NANOS) {
                    lastCheck = now;
                    expire(now);
                }
            }
        } catch (IOException | RuntimeException fault) {
            closing = true;
            failAll("the client's loop failed: " + fault);
            return;
        }
        failAll("the client is closed");
    }

    private void failAll(String why) {
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c) {
                c.fail(why, false);
            }
        }
        Exchange e;
        while ((e = submitted.poll()) != null) {
            e.future.complete(e.failed(why, 0, false));
        }
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing: nothing left to do with it
        }
    }

    private void start(Exchange e) {
        Connection c = null;
        if (!e.fresh) {
            while ((c = idle.pollFirst()) != null && !c.channel.isOpen()) {
                // closed while idle: dropped
            }
        }
        if (c != null) {
            c.begin(e);
            return;
        }
        try {
            SocketChannel channel = SocketChannel.open();
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Connection fresh = new Connection(channel);
            fresh.exchange = e;
            fresh.lastActivity = System.nanoTime();
            if (channel.connect(address)) {
                fresh.key = channel.register(selector, 0, fresh);
                fresh.begin(e);
            } else {
                fresh.key = channel.register(selector, SelectionKey.OP_CONNECT, fresh);
            }
        } catch (IOException io) {
            e.future.complete(e.failed("cannot connect to " + address + ": " + io.getMessage(), 0, false));
        }
    }

    private void ready(SelectionKey key) {
        Connection c = (Connection) key.attachment();
        if (!key.isValid()) {
            return;
        }
        try {
            if (key.isConnectable()) {
                c.channel.finishConnect();
                c.begin(c.exchange);
                return;
            }
            if (key.isWritable()) {
                c.write();
            }
            if (key.isValid() && key.isReadable()) {
                c.read();
            }
        } catch (IOException io) {
            boolean nothingRead = c.exchange != null && !c.exchange.answered;
            c.fail(io.getMessage() == null ? io.getClass().getSimpleName() : io.getMessage(), nothingRead);
        }
    }

    private void expire(long now) {
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c && c.exchange != null && now - c.lastActivity > timeoutNanos) {
                c.fail("no bytes for " + timeoutNanos / 1_000_000_000.0 + " s", false);
            }
        }
    }

    /** A request waiting to go out, and then in flight. */
    private static final class Exchange {
        final byte[] request;
        final boolean fresh;
        final CompletableFuture<Reply> future = new CompletableFuture<>();
        long sent;
        boolean answered;

        Exchange(byte[] request, boolean fresh) {
            this.request = request;
            this.fresh = fresh;
        }

        Reply failed(String why, long now, boolean unanswered) {
            return new Reply(0, Map.of(), sent, 0, now, List.of(), new byte[0], why, unanswered);
        }
    }

    /** One socket and the exchange on it, if any. */
    private final class Connection {
        final SocketChannel channel;
        final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        SelectionKey key;
        Exchange exchange;
        ByteBuffer out;
        AnswerParser parser;
        long lastActivity;

        Connection(SocketChannel channel) {
            this.channel = channel;
        }

        void begin(Exchange e) {
            exchange = e;
            out = ByteBuffer.wrap(e.request);
            parser = new AnswerParser();
            lastActivity = System.nanoTime();
            e.sent = lastActivity;
            try {
                write();
            } catch (IOException io) {
                fail(
                        "unexpected end of stream: the connection closed while the request was sent (" + io.getMessage()
                                + ")",
                        true);
            }
        }

        void write() throws IOException {
            channel.write(out);
            key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE | SelectionKey.OP_READ : SelectionKey.OP_READ);
        }

        void read() throws IOException {
            while (true) {
                in.clear();
                int n = channel.read(in);
                long now = System.nanoTime();
                if (n == 0) {
                    return;
                }
                if (exchange == null) {
                    // An idle connection that became readable was closed by the server (or sent what
                    // nobody asked for): either way it cannot carry another request.
                    close();
                    return;
                }
                lastActivity = now;
                if (n < 0) {
                    ended(now);
                    return;
                }
                exchange.answered = true;
                AnswerParser.Result r = parser.feed(in.array(), 0, n, now);
                if (r == AnswerParser.Result.DONE) {
                    finish(now, parser.reusable());
                    return;
                }
            }
        }

        /** The server closed the connection in the middle of an exchange. */
        private void ended(long now) {
            if (!exchange.answered) {
                fail("unexpected end of stream: the connection closed before an answer", true);
            } else if (parser.endsAtClose()) {
                finish(now, false);
            } else {
                fail("the connection closed inside the answer", false);
            }
        }

        private void finish(long now, boolean reusable) {
            Exchange e = exchange;
            Reply reply = parser.reply(e.sent, now);
            exchange = null;
            parser = null;
            out = null;
            if (reusable && !closing) {
                key.interestOps(SelectionKey.OP_READ);
                idle.addFirst(this);
            } else {
                close();
            }
            e.future.complete(reply);
        }

        void fail(String why, boolean unanswered) {
            Exchange e = exchange;
            exchange = null;
            close();
            if (e != null) {
                e.future.complete(e.failed(why, System.nanoTime(), unanswered));
            }
        }

        private void close() {
            idle.remove(this);
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing: nothing left to do with it
            }
        }
    }

    /** An HTTP/1.1 answer read incrementally: head, then a body framed by length, chunks or the connection's end. */
    static final class AnswerParser {

        enum Result {
            MORE,
            DONE
        }

        private enum State {
            HEAD,
            FIXED,
            CHUNK_SIZE,
            CHUNK_DATA,
            CHUNK_DATA_END,
            TRAILERS,
            UNTIL_CLOSE,
            DONE
        }

        private static final int MAX_HEAD_BYTES = 64 * 1024;

        private final ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        private final List<Stamped> events = new ArrayList<>();
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final Map<String, String> headers = new java.util.HashMap<>();
        private State state = State.HEAD;
        private int status;
        private int headBytes;
        private long headNanos;
        private long left;
        private long now;
        private SseReader sse;

        /** Takes the next {@code len} bytes of the answer, read at {@code nanos}. */
        Result feed(byte[] b, int off, int len, long nanos) throws IOException {
            now = nanos;
            int i = off;
            int end = off + len;
            while (i < end && state != State.DONE) {
                switch (state) {
                    case HEAD, CHUNK_SIZE, CHUNK_DATA_END, TRAILERS -> {
                        int nl = i;
                        while (nl < end && b[nl] != '\n') {
                            nl++;
                        }
                        line.write(b, i, nl - i);
                        if (line.size() > MAX_HEAD_BYTES) {
                            throw new IOException("a line longer than " + MAX_HEAD_BYTES + " bytes in the answer");
                        }
                        i = nl;
                        if (nl < end) {
                            i++;
                            String text = line.toString(StandardCharsets.ISO_8859_1);
                            line.reset();
                            endLine(text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
                        }
                    }
                    case FIXED, CHUNK_DATA -> {
                        int n = (int) Math.min(end - i, left);
                        body(b, i, n);
                        i += n;
                        left -= n;
                        if (left == 0) {
                            state = state == State.FIXED ? State.DONE : State.CHUNK_DATA_END;
                        }
                    }
                    case UNTIL_CLOSE -> {
                        body(b, i, end - i);
                        i = end;
                    }
                    case DONE -> throw new IllegalStateException("unreachable");
                }
            }
            if (state == State.DONE && sse != null) {
                sse.finish();
            }
            return state == State.DONE ? Result.DONE : Result.MORE;
        }

        private void endLine(String text) throws IOException {
            switch (state) {
                case HEAD -> head(text);
                case CHUNK_SIZE -> {
                    int ext = text.indexOf(';');
                    try {
                        left = Long.parseLong((ext >= 0 ? text.substring(0, ext) : text).trim(), 16);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad chunk size line: " + abbreviate(text), e);
                    }
                    state = left == 0 ? State.TRAILERS : State.CHUNK_DATA;
                }
                case CHUNK_DATA_END -> {
                    if (!text.isEmpty()) {
                        throw new IOException("a chunk longer than its size line said");
                    }
                    state = State.CHUNK_SIZE;
                }
                case TRAILERS -> {
                    if (text.isEmpty()) {
                        state = State.DONE;
                    }
                }
                default -> throw new IllegalStateException("no lines in state " + state);
            }
        }

        private void head(String text) throws IOException {
            headBytes += text.length() + 2;
            if (headBytes > MAX_HEAD_BYTES) {
                throw new IOException("answer head longer than " + MAX_HEAD_BYTES + " bytes");
            }
            if (status == 0) {
                if (!text.startsWith("HTTP/1.") || text.length() < 12) {
                    throw new IOException("not an HTTP/1.x status line: " + abbreviate(text));
                }
                try {
                    status = Integer.parseInt(text.substring(9, 12));
                } catch (NumberFormatException e) {
                    throw new IOException("bad status line: " + abbreviate(text), e);
                }
                return;
            }
            if (!text.isEmpty()) {
                int colon = text.indexOf(':');
                if (colon > 0) {
                    headers.put(
                            text.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT),
                            text.substring(colon + 1).trim());
                }
                return;
            }
            headNanos = now;
            if (status == 200) {
                sse = new SseReader(event -> events.add(new Stamped(event, now)));
            }
            String encoding = headers.get("transfer-encoding");
            String length = headers.get("content-length");
            if (status == 204 || status == 304 || status / 100 == 1) {
                state = State.DONE;
            } else if (encoding != null
                    && encoding.toLowerCase(java.util.Locale.ROOT).contains("chunked")) {
                state = State.CHUNK_SIZE;
            } else if (length != null) {
                try {
                    left = Long.parseLong(length.trim());
                } catch (NumberFormatException e) {
                    throw new IOException("bad content-length: " + abbreviate(length), e);
                }
                state = left == 0 ? State.DONE : State.FIXED;
            } else {
                state = State.UNTIL_CLOSE;
            }
        }

        private void body(byte[] b, int off, int len) {
            if (sse != null && !sse.stopped()) {
                sse.feed(b, off, len);
            }
            if (kept.size() < MAX_KEPT_BODY) {
                kept.write(b, off, Math.min(len, MAX_KEPT_BODY - kept.size()));
            }
        }

        /** Whether the answer ends only when the connection does. */
        boolean endsAtClose() {
            return state == State.UNTIL_CLOSE;
        }

        /** Whether the connection can carry another request once this answer is complete. */
        boolean reusable() {
            return state == State.DONE && !"close".equalsIgnoreCase(headers.get("connection"));
        }

        Reply reply(long sentNanos, long endNanos) {
            if (state == State.UNTIL_CLOSE && sse != null) {
                sse.finish();
            }
            return new Reply(
                    status,
                    Map.copyOf(headers),
                    sentNanos,
                    headNanos,
                    endNanos,
                    List.copyOf(events),
                    kept.toByteArray(),
                    null,
                    false);
        }

        private static String abbreviate(String s) {
            return s.length() > 80 ? s.substring(0, 80) + "..." : s;
        }
    }
}
