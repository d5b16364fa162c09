package io.kvasir.engine.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.gguf.ErrorText;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The few hub calls a download needs, over {@link HttpClient}: the file listing of a revision
 * ({@code GET /api/models/{repo}/tree/{revision}?recursive=true}), a file's metadata
 * ({@code HEAD /{repo}/resolve/{revision}/{file}}: {@code X-Repo-Commit}, {@code X-Linked-Etag} /
 * {@code ETag}, {@code X-Linked-Size}) and its bytes (the same URL with {@code GET}, from an offset
 * with {@code Range}).
 *
 * <p>Redirects are followed here rather than by the client, so that the token goes only to the
 * endpoint: the hub sends large files to a storage host, which must not see it. Failures to reach
 * the endpoint at all are {@link Unreachable}, which the resolver answers from the cache.
 */
final class HubClient {

    /** The hub could not be reached, or answered with a server error: a cached copy may stand in. */
    static final class Unreachable extends HubException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The repository exists but has no such file at that revision. */
    static final class MissingFile extends HubException {
        MissingFile(String message) {
            super(message);
        }
    }

    /** One file of a revision's listing. */
    record RemoteFile(String path, long size) {}

    /**
     * What the hub says about a file before it is fetched.
     *
     * @param commit the commit the revision resolved to, or null when the hub did not say
     * @param etag   the sha256 of an LFS file (a git blob sha1 for a small one), unquoted
     * @param size   its size in bytes, or -1 when unknown
     */
    record FileMetadata(String commit, String etag, long size) {}

    /** A response body being read; {@code from} is the offset its first byte has in the file. */
    record Download(InputStream body, long from) {}

    private static final int MAX_REDIRECTS = 5;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern NEXT_LINK = Pattern.compile("<([^>]+)>\\s*;\\s*rel=\"?next\"?");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubSettings settings;
    private final HttpClient http;

    HubClient(HubSettings settings) {
        this.settings = settings;
        this.http = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(15))
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /** Every file of the reference's revision, with its folder path. */
    List<RemoteFile> listFiles(HubReference ref) {
        List<RemoteFile> files = new ArrayList<>();
        URI next = URI.create(settings.endpoint() + "/api/models/" + ref.repo() + "/tree/" + encode(ref.revision())
                + "?recursive=true");
        int pages = 0;
        while (next != null && pages++ < 100) {
            HttpResponse<byte[]> r = send(ref, "GET", next, null, HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() != 200) {
                throw failure(ref, r, null);
            }
            try {
                for (JsonNode entry : JSON.readTree(r.body())) {
                    if ("file".equals(entry.path("type").asText())) {
                        JsonNode lfs = entry.path("lfs");
                        long size = lfs.has("size")
                                ? lfs.get("size").asLong()
                                : entry.path("size").asLong(-1);
                        files.add(new RemoteFile(entry.path("path").asText(), size));
                    }
                }
            } catch (IOException | RuntimeException e) {
                throw new HubException(ref + ": the hub's file listing of " + ref.repo() + " is not the JSON expected: "
                        + e.getMessage());
            }
            next = r.headers().firstValue("Link").map(HubClient::nextLink).orElse(null);
        }
        return files;
    }

    private static URI nextLink(String header) {
        Matcher m = NEXT_LINK.matcher(header);
        return m.find() ? URI.create(m.group(1)) : null;
    }

    /** The file's commit, checksum and size, from a HEAD that stops at the redirect to storage. */
    FileMetadata metadata(HubReference ref, String file) {
        URI uri = resolveUri(ref, file);
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<Void> r = send(ref, "HEAD", uri, null, HttpResponse.BodyHandlers.discarding());
            int status = r.statusCode();
            Optional<String> location = r.headers().firstValue("Location");
            if (isRedirect(status)
                    && location.isPresent()
                    && sameHost(uri.resolve(location.get()))
                    && r.headers().firstValue("X-Linked-Etag").isEmpty()) {
                // A renamed repository answers with a redirect on the hub itself: follow it.
                uri = uri.resolve(location.get());
                continue;
            }
            if (status >= 200 && status < 400) {
                String commit = r.headers().firstValue("X-Repo-Commit").orElse(null);
                String etag = r.headers()
                        .firstValue("X-Linked-Etag")
                        .or(() -> r.headers().firstValue("ETag"))
                        .map(HubClient::unquote)
                        .orElse(null);
                long size = r.headers()
                        .firstValue("X-Linked-Size")
                        .or(() -> r.headers().firstValue("Content-Length"))
                        .map(HubClient::parseLong)
                        .orElse(-1L);
                return new FileMetadata(commit, etag, size);
            }
            throw failure(ref, r, file);
        }
        throw new HubException(ref + ": more than " + MAX_REDIRECTS + " redirects for " + file);
    }

    /**
     * Starts fetching the file from {@code from} (a {@code Range} request when not 0). The caller
     * reads and closes the body; a server that ignores the range answers from 0, which
     * {@link Download#from} says.
     */
    Download open(HubReference ref, String file, long from) {
        URI uri = resolveUri(ref, file);
        String range = from > 0 ? "bytes=" + from + "-" : null;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<InputStream> r = send(ref, "GET", uri, range, HttpResponse.BodyHandlers.ofInputStream());
            int status = r.statusCode();
            Optional<String> location = r.headers().firstValue("Location");
            if (isRedirect(status) && location.isPresent()) {
                close(r.body());
                uri = uri.resolve(location.get());
                continue;
            }
            if (status == 200) {
                return new Download(r.body(), 0);
            }
            if (status == 206) {
                long start = r.headers()
                        .firstValue("Content-Range")
                        .map(HubClient::rangeStart)
                        .orElse(-1L);
                if (start != from) {
                    close(r.body());
                    throw new HubException(ref + ": asked for " + file + " from byte " + from
                            + ", the server answered a range starting at " + start);
                }
                return new Download(r.body(), from);
            }
            close(r.body());
            throw failure(ref, r, file);
        }
        throw new HubException(ref + ": more than " + MAX_REDIRECTS + " redirects for " + file);
    }

    private URI resolveUri(HubReference ref, String file) {
        StringBuilder path = new StringBuilder();
        for (String segment : file.split("/")) {
            path.append('/').append(encode(segment));
        }
        return URI.create(settings.endpoint() + "/" + ref.repo() + "/resolve/" + encode(ref.revision()) + path);
    }

    private <T> HttpResponse<T> send(
            HubReference ref, String method, URI uri, String range, HttpResponse.BodyHandler<T> body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(REQUEST_TIMEOUT)
                .header("User-Agent", "kvasir");
        if (sameHost(uri)) {
            settings.token().ifPresent(t -> b.header("Authorization", "Bearer " + t));
        }
        if (range != null) {
            b.header("Range", range);
        }
        HttpResponse<T> r;
        try {
            r = http.send(b.build(), body);
        } catch (IOException e) {
            throw new Unreachable(ref + ": cannot reach " + settings.endpoint() + " (" + describe(e) + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException(ref + ": interrupted while talking to " + settings.endpoint(), e);
        }
        if (r.statusCode() >= 500) {
            if (r.body() instanceof InputStream in) {
                close(in);
            }
            throw new Unreachable(
                    ref + ": " + settings.endpoint() + " answered HTTP " + r.statusCode() + " for " + uri.getPath(),
                    null);
        }
        return r;
    }

    /** The one-line error for a refusal, by the hub's {@code X-Error-Code} where it gives one. */
    private HubException failure(HubReference ref, HttpResponse<?> r, String file) {
        int status = r.statusCode();
        String code = r.headers().firstValue("X-Error-Code").orElse("");
        String hubSays = r.headers()
                .firstValue("X-Error-Message")
                .map(m -> " (the hub says: " + ErrorText.quote(m) + ")")
                .orElse("");
        boolean token = settings.token().isPresent();
        String where = settings.endpoint().toString();
        if (code.equals("GatedRepo")) {
            return new HubException(ref + ": " + ref.repo() + " is a gated repository: "
                    + (token
                            ? "the account of HF_TOKEN has not been granted access; ask for it on " + where + "/"
                                    + ref.repo()
                            : "ask for access on " + where + "/" + ref.repo() + " and set HF_TOKEN to a token of "
                                    + "that account"));
        }
        if (code.equals("RepoNotFound") || (status == 404 && file == null && code.isEmpty())) {
            return new HubException(ref + ": no repository " + ref.repo() + " on " + where
                    + (token ? "" : " (or it is private or gated: set HF_TOKEN)"));
        }
        if (code.equals("RevisionNotFound")) {
            return new HubException(ref + ": " + ref.repo() + " has no revision " + ErrorText.quote(ref.revision()));
        }
        if (code.equals("EntryNotFound") || status == 404) {
            return new MissingFile(ref + ": " + ref.repo() + " has no file " + ErrorText.quote(file)
                    + (ref.revision().equals(HubReference.DEFAULT_REVISION) ? "" : " at " + ref.revision()));
        }
        if (status == 401) {
            return new HubException(ref + ": "
                    + (token
                            ? "HF_TOKEN was refused for " + ref.repo() + hubSays
                            : ref.repo() + " needs a token (it is private or gated, or does not exist): set HF_TOKEN"));
        }
        if (status == 403) {
            return new HubException(ref + ": access to " + ref.repo() + " refused (HTTP 403)" + hubSays);
        }
        return new HubException(ref + ": " + where + " answered HTTP " + status + hubSays);
    }

    private boolean sameHost(URI uri) {
        URI e = settings.endpoint();
        return Objects.equals(uri.getScheme(), e.getScheme())
                && Objects.equals(uri.getHost(), e.getHost())
                && uri.getPort() == e.getPort();
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static String describe(IOException e) {
        String what = e.getClass().getSimpleName();
        Throwable root = e;
        while (root.getCause() != null && root.getMessage() == null) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        if (e instanceof java.net.ConnectException && (msg == null || msg.isBlank())) {
            return "connection refused";
        }
        return msg == null || msg.isBlank() ? what : what + ": " + msg;
    }

    private static String unquote(String etag) {
        String e = etag.strip();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
            e = e.substring(1, e.length() - 1);
        }
        return e;
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The first byte of {@code bytes START-END/TOTAL}. */
    private static long rangeStart(String contentRange) {
        Matcher m = Pattern.compile("bytes\\s+(\\d+)-").matcher(contentRange);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static String encode(String segment) {
        return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void close(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // The response is abandoned anyway; nothing depends on its close.
        }
    }
}
