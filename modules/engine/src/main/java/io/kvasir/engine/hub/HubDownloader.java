package io.kvasir.engine.hub;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fetches one file into the cache: into {@code FILE.part}, resumed with a {@code Range} request
 * where a previous attempt (this run's or an earlier process's) stopped, checked against the hub's
 * checksum and size, then renamed into place. A dropped connection, or one that stalls (nothing
 * received for the stall timeout), is retried from where it stopped a few times; after that the
 * part is kept for the next start to resume.
 */
final class HubDownloader {

    static final int ATTEMPTS = 3;
    private static final int BUFFER = 1 << 16;

    /** Closes the body of a download that has received nothing for its stall timeout. */
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kvasir-download-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final HubClient client;
    private final PrintStream out;
    private final boolean terminal;
    private final Duration stallTimeout;

    /**
     * @param stallTimeout how long a download may receive nothing before its connection is dropped
     *                     and resumed: the HTTP client times out only until the headers arrive
     */
    HubDownloader(HubClient client, PrintStream out, boolean terminal, Duration stallTimeout) {
        this.client = client;
        this.out = out;
        this.terminal = terminal;
        this.stallTimeout = stallTimeout;
    }

    /** Downloads {@code file} to {@code target} unless it is there; the caller holds the file's cache lock. */
    void download(HubReference ref, String file, HubClient.FileMetadata meta, Path target) {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            Files.createDirectories(target.getParent());
            for (int attempt = 1; ; attempt++) {
                long have = Files.exists(part) ? Files.size(part) : 0;
                if (meta.size() >= 0 && have > meta.size()) {
                    Files.delete(part); // longer than the file can be: not a prefix of it
                    have = 0;
                }
                try {
                    fetch(ref, file, meta, part, have);
                    break;
                } catch (IOException | HubClient.Unreachable e) {
                    // The hub answered for this file's metadata: a connection that fails now, even
                    // before the first byte of a resumed range (the close can reach the HTTP client
                    // with the headers), is a lost connection to resume, not an unreachable hub.
                    long kept = Files.exists(part) ? Files.size(part) : 0;
                    if (attempt >= ATTEMPTS) {
                        throw new HubException(ref + ": the download of " + file + " stopped at "
                                + DownloadProgress.size(kept) + " of " + DownloadProgress.size(meta.size()) + " ("
                                + e.getMessage() + ") after " + ATTEMPTS + " attempts; the part is kept in " + part
                                + " and the next start resumes it");
                    }
                    out.println(
                            "kvasir: " + file + ": connection lost at " + DownloadProgress.size(kept) + ", resuming");
                }
            }
            verify(ref, file, meta, part);
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(ref + ": cannot write " + part + ": " + e.getMessage(), e);
        }
    }

    /** One attempt: appends the rest of the file to the part. IOExceptions are the connection's. */
    private void fetch(HubReference ref, String file, HubClient.FileMetadata meta, Path part, long have)
            throws IOException {
        HubClient.Download d = client.open(ref, file, have);
        DownloadProgress progress = new DownloadProgress(out, terminal, file, d.from(), meta.size(), System::nanoTime);
        StandardOpenOption mode = d.from() == 0 ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND;
        long bytes = d.from();
        AtomicLong lastRead = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream body = d.body();
        long every = Math.max(1, stallTimeout.toMillis() / 4);
        ScheduledFuture<?> watch = WATCHDOG.scheduleWithFixedDelay(
                () -> {
                    if (System.nanoTime() - lastRead.get() > stallTimeout.toNanos()
                            && stalled.compareAndSet(false, true)) {
                        closeQuietly(body);
                    }
                },
                every,
                every,
                TimeUnit.MILLISECONDS);
        try (InputStream in = body;
                OutputStream o =
                        Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode)) {
            byte[] buf = new byte[BUFFER];
            for (int n; (n = in.read(buf)) > 0; ) {
                lastRead.set(System.nanoTime());
                o.write(buf, 0, n);
                bytes += n;
                progress.update(bytes);
            }
        } catch (IOException e) {
            progress.finish("interrupted at " + DownloadProgress.size(bytes));
            throw stalled.get() ? new IOException("nothing received for " + stallTimeout.toMillis() + " ms", e) : e;
        } finally {
            watch.cancel(false);
        }
        if (stalled.get()) {
            progress.finish("interrupted at " + DownloadProgress.size(bytes));
            throw new IOException("nothing received for " + stallTimeout.toMillis() + " ms");
        }
        if (meta.size() >= 0 && bytes < meta.size()) {
            progress.finish("interrupted at " + DownloadProgress.size(bytes));
            throw new IOException("the connection ended early");
        }
        progress.finish("done (" + DownloadProgress.size(bytes) + ")");
    }

    /** Size and checksum against the hub's; a part that fails is deleted, as no resume can fix it. */
    private static void verify(HubReference ref, String file, HubClient.FileMetadata meta, Path part)
            throws IOException {
        long size = Files.size(part);
        String problem = null;
        if (meta.size() >= 0 && size != meta.size()) {
            problem = "the hub says " + meta.size() + " bytes, the download has " + size;
        } else {
            String expected = meta.etag() == null ? "" : meta.etag().toLowerCase(java.util.Locale.ROOT);
            String actual = null;
            if (expected.matches("[0-9a-f]{64}")) {
                actual = digest(part, "SHA-256", null);
            } else if (expected.matches("[0-9a-f]{40}")) {
                // A small file kept in git, not LFS: its etag is the git blob id.
                actual = digest(part, "SHA-1", ("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
            }
            if (actual != null && !actual.equals(expected)) {
                problem = "checksum mismatch: the hub says " + expected + ", the download is " + actual;
            }
        }
        if (problem != null) {
            Files.deleteIfExists(part);
            throw new HubException(ref + ": " + file + ": " + problem + "; the download was deleted, start again to "
                    + "fetch it anew");
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // Closing is how the watchdog breaks a stalled read; the reader reports the failure.
        }
    }

    private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is part of every JDK", e);
        }
        if (prefix != null) {
            md.update(prefix);
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[BUFFER];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
