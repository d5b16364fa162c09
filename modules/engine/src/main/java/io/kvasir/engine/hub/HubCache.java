package io.kvasir.engine.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The download cache, laid out by repository and revision:
 *
 * <pre>
 * CACHE/hf/OWNER/REPO/snapshots/COMMIT/FILE     complete, checked files (never changed once there)
 * CACHE/hf/OWNER/REPO/snapshots/COMMIT/FILE.part a download in progress or interrupted
 * CACHE/hf/OWNER/REPO/refs/REVISION              the commit a branch or tag resolved to last
 * CACHE/hf/OWNER/REPO/.locks/COMMIT/FILE.lock    held while one process downloads FILE
 * </pre>
 *
 * A file appears under its final name only by an atomic rename of its checked {@code .part}, so a
 * reader never sees half a model. Two processes (two nodes on one machine) that want the same file
 * take its lock in turn: the second finds the file done when it gets the lock.
 */
final class HubCache {

    /** Threads of this process that want the same file wait here; the file lock is per process. */
    private static final ConcurrentHashMap<Path, ReentrantLock> LOCAL_LOCKS = new ConcurrentHashMap<>();

    private final Path root;

    HubCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    Path root() {
        return root;
    }

    private Path repoDir(HubReference ref) {
        return root.resolve("hf").resolve(ref.owner()).resolve(ref.name());
    }

    /** Where the files of one commit (or of a revision the hub gave no commit for) are kept. */
    Path snapshot(HubReference ref, String commit) {
        return repoDir(ref).resolve("snapshots").resolve(commit);
    }

    Path file(HubReference ref, String commit, String file) {
        return snapshot(ref, commit).resolve(file);
    }

    /** The commit the reference's revision resolved to when it was last fetched. */
    Optional<String> commit(HubReference ref) {
        Path refFile = repoDir(ref).resolve("refs").resolve(ref.revision());
        try {
            if (Files.isRegularFile(refFile)) {
                return Optional.of(
                        Files.readString(refFile, StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // A revision that is itself a commit (or had no commit from the hub) has its own snapshot.
        return Files.isDirectory(snapshot(ref, ref.revision())) ? Optional.of(ref.revision()) : Optional.empty();
    }

    /** Records which commit the revision resolved to, for offline use later. */
    void remember(HubReference ref, String commit) {
        if (commit.equals(ref.revision())) {
            return;
        }
        Path refFile = repoDir(ref).resolve("refs").resolve(ref.revision());
        try {
            Files.createDirectories(refFile.getParent());
            Path tmp = Files.createTempFile(refFile.getParent(), ref.revision(), ".tmp");
            Files.writeString(tmp, commit, StandardCharsets.UTF_8);
            Files.move(tmp, refFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + refFile + ": " + e.getMessage(), e);
        }
    }

    /** The complete files of a snapshot, as paths inside the repository. */
    List<String> files(HubReference ref, String commit) {
        Path dir = snapshot(ref, commit);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile)
                    .map(p -> dir.relativize(p).toString().replace('\\', '/'))
                    .filter(p -> !p.endsWith(".part"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Takes the lock of one file of a snapshot: first among this process's threads, then against
     * other processes with a file lock. Closing the handle releases both.
     */
    AutoCloseable lock(HubReference ref, String commit, String file) {
        Path lockFile = repoDir(ref).resolve(".locks").resolve(commit).resolve(file + ".lock");
        ReentrantLock local = LOCAL_LOCKS.computeIfAbsent(lockFile, k -> new ReentrantLock());
        local.lock();
        try {
            Files.createDirectories(lockFile.getParent());
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                FileLock held = channel.lock();
                return () -> {
                    try (channel) {
                        held.release();
                    } finally {
                        local.unlock();
                    }
                };
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException e) {
            local.unlock();
            throw new UncheckedIOException("cannot lock " + lockFile + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            local.unlock();
            throw e;
        }
    }
}
