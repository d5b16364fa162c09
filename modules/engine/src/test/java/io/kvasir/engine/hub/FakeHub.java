package io.kvasir.engine.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for the Hugging Face hub on 127.0.0.1, with its URL layout and headers: the tree
 * listing under {@code /api/models/{repo}/tree/{revision}}, and {@code /{repo}/resolve/{revision}/{file}}
 * answering HEAD and GET with a 302 to a separate storage server (as the hub sends LFS files to its
 * CDN) carrying {@code X-Repo-Commit}, {@code X-Linked-Etag} (the sha256) and {@code X-Linked-Size}.
 * Errors carry the hub's {@code X-Error-Code}. Faults are switched on per file: a connection dropped
 * part-way, a wrong checksum.
 */
public final class FakeHub implements AutoCloseable {

    public static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    public static final String TOKEN = "hf_test_token_123";

    /** A request as the servers saw it. */
    public record Seen(String server, String method, String path, String range, boolean authorized) {}

    private record Repo(Map<String, byte[]> files, boolean gated) {}

    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> drops = new ConcurrentHashMap<>();
    private final Map<String, String> wrongSha = new ConcurrentHashMap<>();
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final HttpServer hub;
    private final HttpServer storage;
    private final ExecutorService threads = Executors.newFixedThreadPool(4);

    public FakeHub() {
        try {
            hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            storage = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        hub.createContext("/", this::hub);
        storage.createContext("/", this::storage);
        hub.setExecutor(threads);
        storage.setExecutor(threads);
        hub.start();
        storage.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    public FakeHub repo(String repo, Map<String, byte[]> files) {
        repos.put(repo, new Repo(new ConcurrentHashMap<>(files), false));
        return this;
    }

    public FakeHub gatedRepo(String repo, Map<String, byte[]> files) {
        repos.put(repo, new Repo(new ConcurrentHashMap<>(files), true));
        return this;
    }

    /** The next {@code times} downloads of {@code file} stop after {@code bytes} bytes. */
    public void dropAfter(String file, int bytes, int times) {
        drops.put(file, new AtomicInteger(times));
        dropAt.put(file, bytes);
    }

    private final Map<String, Integer> dropAt = new ConcurrentHashMap<>();

    /** The next download of {@code file} sends {@code bytes} bytes, then nothing, without closing. */
    public void stallAfter(String file, int bytes) {
        stalls.put(file, bytes);
    }

    private final Map<String, Integer> stalls = new ConcurrentHashMap<>();

    /** Downloads of {@code file} arrive in 10 pieces, {@code millis} apart, so that two overlap. */
    public void slow(String file, int millis) {
        paces.put(file, millis);
    }

    private final Map<String, Integer> paces = new ConcurrentHashMap<>();

    /** The hub announces a checksum the file does not have. */
    public void lieAboutChecksum(String file) {
        wrongSha.put(file, sha256(new byte[] {1, 2, 3}));
    }

    public long count(String server, String method) {
        return seen.stream()
                .filter(s -> s.server().equals(server) && s.method().equals(method))
                .count();
    }

    // ---- the hub ---------------------------------------------------------------------------------

    private void hub(HttpExchange ex) throws IOException {
        try (ex) {
            String path = URLDecoder.decode(ex.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
            boolean authorized =
                    ("Bearer " + TOKEN).equals(ex.getRequestHeaders().getFirst("Authorization"));
            seen.add(new Seen("hub", ex.getRequestMethod(), path, null, authorized));
            String[] p = path.substring(1).split("/", 5);
            boolean api = p.length >= 5 && p[0].equals("api") && p[1].equals("models");
            String repoId = api ? p[2] + "/" + p[3] : p.length >= 2 ? p[0] + "/" + p[1] : "";
            Repo repo = repos.get(repoId);
            if (repo == null) {
                // Like the hub to an anonymous caller: a missing repository looks like a private one.
                error(ex, 401, "RepoNotFound", "Repository not found");
                return;
            }
            if (repo.gated() && !authorized) {
                error(ex, 401, "GatedRepo", "Access to model " + repoId + " is restricted.");
                return;
            }
            if (api) {
                // /api/models/OWNER/REPO/tree/REVISION
                listing(ex, repo);
                return;
            }
            // /OWNER/REPO/resolve/REVISION/FILE...
            String[] r = path.substring(1).split("/", 5);
            if (r.length < 5 || !r[2].equals("resolve")) {
                error(ex, 404, null, "Not found");
                return;
            }
            if (!r[3].equals("main") && !r[3].equals(COMMIT)) {
                error(ex, 404, "RevisionNotFound", "Invalid rev id: " + r[3]);
                return;
            }
            String file = r[4];
            byte[] data = repo.files().get(file);
            if (data == null) {
                error(ex, 404, "EntryNotFound", "Entry not found");
                return;
            }
            var h = ex.getResponseHeaders();
            h.add("X-Repo-Commit", COMMIT);
            h.add("X-Linked-Etag", "\"" + wrongSha.getOrDefault(file, sha256(data)) + "\"");
            h.add("X-Linked-Size", Long.toString(data.length));
            h.add("ETag", "W/\"not-the-sha\"");
            h.add("Location", "http://127.0.0.1:" + storage.getAddress().getPort() + "/lfs/" + repoId + "/" + file);
            ex.sendResponseHeaders(302, -1);
        }
    }

    private void listing(HttpExchange ex, Repo repo) throws IOException {
        StringBuilder json = new StringBuilder("[");
        for (var e : repo.files().entrySet()) {
            if (json.length() > 1) {
                json.append(',');
            }
            String sha = sha256(e.getValue());
            json.append("{\"type\":\"file\",\"oid\":\"")
                    .append(sha, 0, 40)
                    .append("\",\"size\":")
                    .append(e.getValue().length)
                    .append(",\"path\":\"")
                    .append(e.getKey())
                    .append("\",\"lfs\":{\"oid\":\"")
                    .append(sha)
                    .append("\",\"size\":")
                    .append(e.getValue().length)
                    .append(",\"pointerSize\":134}}");
        }
        byte[] body = json.append(']').toString().getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().add("X-Error-Code", code);
        }
        ex.getResponseHeaders().add("X-Error-Message", message);
        byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
        } else {
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
        }
    }

    // ---- the storage the hub redirects to -------------------------------------------------------

    private void storage(HttpExchange ex) throws IOException {
        String path = URLDecoder.decode(ex.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
        String range = ex.getRequestHeaders().getFirst("Range");
        boolean authorized = ex.getRequestHeaders().containsKey("Authorization");
        seen.add(new Seen("storage", ex.getRequestMethod(), path, range, authorized));
        String[] p = path.substring(1).split("/", 4); // lfs/OWNER/REPO/FILE
        Repo repo = repos.get(p[1] + "/" + p[2]);
        byte[] data = repo == null ? null : repo.files().get(p[3]);
        if (data == null) {
            try (ex) {
                ex.sendResponseHeaders(404, -1);
            }
            return;
        }
        long from = 0;
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) {
            from = Long.parseLong(range.substring(6, range.length() - 1));
        }
        int length = (int) (data.length - from);
        if (from > 0) {
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (data.length - 1) + "/" + data.length);
        }
        ex.sendResponseHeaders(from > 0 ? 206 : 200, length);
        OutputStream out = ex.getResponseBody();
        Integer stallAt = stalls.remove(p[3]);
        if (stallAt != null) {
            out.write(data, (int) from, stallAt - (int) from);
            out.flush();
            try {
                // Silent but open, until the client gives up and closes its end.
                for (int i = 0; i < 100; i++) {
                    Thread.sleep(100);
                    out.write(new byte[0]);
                    out.flush();
                }
            } catch (InterruptedException | IOException e) {
                // The client went away (or the hub is closing): the point of the stall.
            }
            ex.close();
            return;
        }
        AtomicInteger dropping = drops.get(p[3]);
        if (dropping != null && dropping.getAndDecrement() > 0) {
            int upTo = Math.max((int) from, dropAt.get(p[3]));
            out.write(data, (int) from, upTo - (int) from);
            out.flush();
            // Fewer bytes than announced: the server closes the connection under the client.
            ex.close();
            return;
        }
        Integer pace = paces.get(p[3]);
        if (pace != null) {
            int piece = (length + 9) / 10;
            for (int at = (int) from; at < data.length; at += piece) {
                out.write(data, at, Math.min(piece, data.length - at));
                out.flush();
                try {
                    Thread.sleep(pace);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } else {
            out.write(data, (int) from, length);
        }
        ex.close();
    }

    static String sha256(byte[] data) {
        try {
            return java.util.HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        storage.stop(0);
        threads.shutdownNow();
    }
}
