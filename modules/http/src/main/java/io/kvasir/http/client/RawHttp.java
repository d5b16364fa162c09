package io.kvasir.http.client;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A small HTTP/1.1 client for plain-text servers: blocking sockets, one per request in flight (the
 * callers are virtual threads), kept alive in a pool between requests. Two users: the load generator
 * ({@code bench serve --client raw}), where a general client's own time shows in every figure it
 * reports (against a server that answers every request with a 429 at once, 240 requests sent
 * together took OkHttp 65-97 ms at the median and 123-145 ms at p99 to see their answers on two
 * cores, and 15-32 ms and 24-54 ms on raw sockets), and a node's warm-up of its own serving path
 * ({@link io.kvasir.http.ServingWarmUp}). What both need of HTTP is small (a request with a body, an
 * answer framed by length, by chunks or by the connection's end, keep-alive), and this is all it
 * does: no redirects, proxies or TLS.
 */
public final class RawHttp implements AutoCloseable {

    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private final InetSocketAddress address;
    private final String hostHeader;
    private final int timeoutMillis;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();

    public RawHttp(URI base, Duration timeout) {
        if (!"http".equals(base.getScheme())) {
            throw new IllegalArgumentException("raw HTTP is plain text only, got " + base);
        }
        int port = base.getPort() < 0 ? 80 : base.getPort();
        this.address = new InetSocketAddress(base.getHost(), port);
        this.hostHeader = base.getHost() + ":" + port;
        this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    }

    /** One request's answer. Closing it returns the connection to the pool if its body was read to the end. */
    public final class Answer implements AutoCloseable {
        private final int status;
        private final Map<String, String> headers;
        private final Body body;
        private final Connection connection;

        private Answer(int status, Map<String, String> headers, Body body, Connection connection) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.connection = connection;
        }

        public int status() {
            return status;
        }

        /** A header's value (the last one sent under that name), or null. */
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }

        public InputStream body() {
            return body;
        }

        @Override
        public void close() {
            boolean reusable = body.finished() && !"close".equalsIgnoreCase(header("connection"));
            if (reusable) {
                idle.push(connection);
            } else {
                connection.close();
            }
        }
    }

    /**
     * The connection ended, closed or reset, before a single byte of an answer: nothing was
     * answered, so the request may be sent again on a new connection. What a kept-alive connection
     * that the server has just closed looks like when the next request goes out on it. The message
     * starts with "unexpected end of stream", as OkHttp's does.
     */
    public static final class ClosedBeforeAnswer extends IOException {
        ClosedBeforeAnswer(String detail, Throwable cause) {
            super("unexpected end of stream: " + detail, cause);
        }
    }

    /**
     * Sends a request on an idle pooled connection, or a new one.
     *
     * @throws ClosedBeforeAnswer when the connection ended before any byte of an answer (a pooled
     *     connection the server had closed)
     */
    public Answer send(String method, String path, Map<String, String> headers, byte[] body) throws IOException {
        return send(method, path, headers, body, false);
    }

    /**
     * @param fresh on a new connection, not a pooled one (to resend a request whose pooled
     *     connection turned out closed: the next pooled one may be too, as when a server closes its
     *     idle connections beyond a number)
     */
    public Answer send(String method, String path, Map<String, String> headers, byte[] body, boolean fresh)
            throws IOException {
        Connection connection = fresh ? null : idle.poll();
        if (connection == null) {
            connection = connect();
        }
        try {
            try {
                connection.out.write(head(method, path, headers, body == null ? -1 : body.length));
                if (body != null) {
                    connection.out.write(body);
                }
                connection.out.flush();
            } catch (java.net.SocketException e) {
                throw new ClosedBeforeAnswer("the connection closed while the request was sent", e);
            }
            return read(connection);
        } catch (IOException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /** Closes every pooled connection; connections in use close when their answers do. */
    @Override
    public void close() {
        Connection c;
        while ((c = idle.poll()) != null) {
            c.close();
        }
    }

    private Connection connect() throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(address, timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            socket.setTcpNoDelay(true);
            return new Connection(socket);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private byte[] head(String method, String path, Map<String, String> headers, int length) {
        return requestHead(method, path, hostHeader, headers, length);
    }

    /**
     * An HTTP/1.1 request's head: the request line, {@code Host}, {@code headers} and, when {@code
     * length >= 0}, {@code Content-Length}, then the blank line. Also what the load generator's
     * selector client writes.
     */
    public static byte[] requestHead(String method, String path, String host, Map<String, String> headers, int length) {
        StringBuilder h = new StringBuilder(256);
        h.append(method)
                .append(' ')
                .append(path)
                .append(" HTTP/1.1\r\nHost: ")
                .append(host)
                .append("\r\n");
        headers.forEach((k, v) -> h.append(k).append(": ").append(v).append("\r\n"));
        if (length >= 0) {
            h.append("Content-Length: ").append(length).append("\r\n");
        }
        return h.append("\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private Answer read(Connection c) throws IOException {
        c.in.mark(1);
        int first;
        try {
            first = c.in.read();
        } catch (java.net.SocketTimeoutException e) {
            throw e;
        } catch (java.net.SocketException e) {
            throw new ClosedBeforeAnswer("the connection was reset before an answer", e);
        }
        if (first == -1) {
            throw new ClosedBeforeAnswer("the connection closed before an answer", null);
        }
        c.in.reset();
        String status = readLine(c.in);
        if (!status.startsWith("HTTP/1.") || status.length() < 12) {
            throw new IOException("not an HTTP/1.x status line: " + abbreviate(status));
        }
        int code;
        try {
            code = Integer.parseInt(status.substring(9, 12));
        } catch (NumberFormatException e) {
            throw new IOException("bad status line: " + abbreviate(status), e);
        }
        Map<String, String> headers = new HashMap<>();
        int headBytes = status.length();
        String line;
        while ((line = readLine(c.in)) != null && !line.isEmpty()) {
            headBytes += line.length();
            if (headBytes > MAX_HEAD_BYTES) {
                throw new IOException("answer head longer than " + MAX_HEAD_BYTES + " bytes");
            }
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(
                        line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        line.substring(colon + 1).trim());
            }
        }
        if (line == null) {
            throw new IOException("the connection closed inside an answer's head");
        }
        Body body;
        String encoding = headers.get("transfer-encoding");
        String length = headers.get("content-length");
        if (encoding != null && encoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = new Chunked(c.in);
        } else if (length != null) {
            body = new Fixed(c.in, Long.parseLong(length));
        } else {
            body = new UntilClosed(c.in);
        }
        return new Answer(code, headers, body, c);
    }

    /** A CRLF- (or LF-) terminated line in ISO-8859-1, without its terminator; null at the end of the stream. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                byte[] bytes = line.toByteArray();
                int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
                return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
            }
            if (line.size() >= MAX_HEAD_BYTES) {
                throw new IOException("a line longer than " + MAX_HEAD_BYTES + " bytes");
            }
            line.write(b);
        }
        return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    private static final class Connection {
        final Socket socket;
        final InputStream in;
        final OutputStream out;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = new java.io.BufferedOutputStream(socket.getOutputStream(), 16 * 1024);
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing: nothing left to do with it
            }
        }
    }

    /** An answer's body; {@link #finished} once its last byte was read (the connection can carry another). */
    abstract static class Body extends InputStream {
        abstract boolean finished();

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }
    }

    static final class Fixed extends Body {
        private final InputStream in;
        private long left;

        Fixed(InputStream in, long length) {
            this.in = in;
            this.left = length;
        }

        @Override
        boolean finished() {
            return left == 0;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new IOException("the connection closed with " + left + " body bytes unread");
            }
            left -= n;
            return n;
        }
    }

    static final class Chunked extends Body {
        private final InputStream in;
        private long chunkLeft;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        boolean finished() {
            return done;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (chunkLeft == 0) {
                String size = readLine(in);
                if (size == null) {
                    throw new IOException("the connection closed inside a chunked body");
                }
                int ext = size.indexOf(';');
                try {
                    chunkLeft = Long.parseLong((ext >= 0 ? size.substring(0, ext) : size).trim(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException("bad chunk size line: " + abbreviate(size), e);
                }
                if (chunkLeft == 0) {
                    String trailer;
                    while ((trailer = readLine(in)) != null && !trailer.isEmpty()) {
                        // trailers: not used
                    }
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) {
                throw new IOException("the connection closed inside a chunk");
            }
            chunkLeft -= n;
            if (chunkLeft == 0 && readLine(in) == null) {
                throw new IOException("the connection closed after a chunk");
            }
            return n;
        }
    }

    /** A body without a length: it ends when the server closes the connection, which then cannot be reused. */
    static final class UntilClosed extends Body {
        private final InputStream in;

        UntilClosed(InputStream in) {
            this.in = in;
        }

        @Override
        boolean finished() {
            return false;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in.read(b, off, len);
        }
    }
}
