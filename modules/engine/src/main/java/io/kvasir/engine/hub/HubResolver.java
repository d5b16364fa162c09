package io.kvasir.engine.hub;

import io.kvasir.engine.gguf.GgufSplits;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Turns a {@link HubReference} into a local GGUF file: picks the file (by name, or by quant type
 * from the repository's listing), fetches it and every part of a split model into the
 * {@link HubCache}, and answers the path of the (first) file, which
 * {@link io.kvasir.engine.gguf.GgufFile#open} loads whole.
 *
 * <p>Online, each file's metadata is asked for first: a file the cache already holds for that
 * commit is not fetched again. Offline ({@link HubSettings#offline()}), or when the hub cannot be
 * reached, the cache answers alone, from the commit the revision resolved to last; with no copy
 * there the error says both what failed and where the cache is.
 */
public final class HubResolver {

    /** A download that receives nothing this long is dropped and resumed. */
    static final java.time.Duration STALL_TIMEOUT = java.time.Duration.ofSeconds(60);

    private static final Pattern SAFE_COMMIT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final HubSettings settings;
    private final HubCache cache;
    private final HubClient client;
    private final HubDownloader downloader;
    private final PrintStream out;

    /**
     * @param out      where progress and notes go (stderr for the CLI)
     * @param terminal whether {@code out} is a terminal, for a redrawn progress bar
     */
    public HubResolver(HubSettings settings, PrintStream out, boolean terminal) {
        this(settings, out, terminal, STALL_TIMEOUT);
    }

    HubResolver(HubSettings settings, PrintStream out, boolean terminal, java.time.Duration stallTimeout) {
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir());
        this.client = new HubClient(settings);
        this.downloader = new HubDownloader(client, out, terminal, stallTimeout);
        this.out = out;
    }

    /** The settings of this process's environment, reporting to stderr. */
    public static HubResolver fromEnvironment() {
        java.io.Console console = System.console();
        return new HubResolver(
                HubSettings.fromEnvironment(System.getenv()), System.err, console != null && console.isTerminal());
    }

    public HubSettings settings() {
        return settings;
    }

    /** The local path of the referenced model's (first) file, fetched if need be. */
    public Path resolve(HubReference ref) {
        if (settings.offline()) {
            return cached(ref)
                    .orElseThrow(() -> new HubException(ref + ": offline (HF_HUB_OFFLINE or KVASIR_OFFLINE)"
                            + " and not in the cache " + cache.root() + "; " + cachedNote(ref)));
        }
        try {
            return fetch(ref);
        } catch (HubClient.Unreachable e) {
            Optional<Path> copy = cached(ref);
            if (copy.isPresent()) {
                out.println("kvasir: " + e.getMessage() + "; using the cached copy " + copy.get());
                return copy.get();
            }
            throw new HubException(e.getMessage() + ", and " + ref + " is not in the cache " + cache.root(), e);
        }
    }

    private Path fetch(HubReference ref) {
        List<String> files;
        if (ref.quant() != null) {
            List<String> listing = client.listFiles(ref).stream()
                    .map(HubClient.RemoteFile::path)
                    .toList();
            files = QuantSelector.select(ref, listing);
        } else {
            files = parts(ref.file());
        }
        Path first = null;
        for (String file : files) {
            HubClient.FileMetadata meta = metadata(ref, file);
            String commit = meta.commit() != null
                            && SAFE_COMMIT.matcher(meta.commit()).matches()
                            && !meta.commit().contains("..")
                    ? meta.commit()
                    : ref.revision();
            Path target = cache.file(ref, commit, file);
            if (!complete(target, meta)) {
                try (AutoCloseable lock = cache.lock(ref, commit, file)) {
                    // Another process may have fetched it while this one waited for the lock.
                    if (!complete(target, meta)) {
                        downloader.download(ref, file, meta, target);
                    }
                } catch (HubException | java.io.UncheckedIOException e) {
                    throw e;
                } catch (Exception e) {
                    throw new HubException(ref + ": " + file + ": " + e.getMessage(), e);
                }
            }
            cache.remember(ref, commit);
            if (first == null) {
                first = target;
            }
        }
        return first;
    }

    private HubClient.FileMetadata metadata(HubReference ref, String file) {
        try {
            return client.metadata(ref, file);
        } catch (HubClient.MissingFile e) {
            // Say what there is: the listing costs one more request, on a path that fails anyway.
            String available;
            try {
                available = QuantSelector.available(client.listFiles(ref).stream()
                        .map(HubClient.RemoteFile::path)
                        .toList());
            } catch (HubException listingFailed) {
                throw e;
            }
            throw new HubException(e.getMessage() + "; its GGUF models: " + available, e);
        }
    }

    private static boolean complete(Path target, HubClient.FileMetadata meta) {
        try {
            return Files.isRegularFile(target) && (meta.size() < 0 || Files.size(target) == meta.size());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** A split model's every part (from the name of any one of them), or the one file. */
    private static List<String> parts(String file) {
        String name = file.substring(file.lastIndexOf('/') + 1);
        String dir = file.substring(0, file.length() - name.length());
        GgufSplits.Name split = GgufSplits.parse(name);
        if (split == null) {
            return List.of(file);
        }
        List<String> parts = new ArrayList<>();
        for (int i = 1; i <= split.count(); i++) {
            parts.add(dir + split.partName(i));
        }
        return parts;
    }

    /**
     * The model's (first) file if this environment's cache holds it whole, without asking the hub:
     * for callers that only look at a model, such as a memory estimate, and must not download it.
     */
    public static Optional<Path> inCache(HubReference ref) {
        return cached(new HubCache(HubSettings.fromEnvironment(System.getenv()).cacheDir()), ref);
    }

    private Optional<Path> cached(HubReference ref) {
        return cached(cache, ref);
    }

    /** The model from the cache alone: every file it needs complete under the commit last seen. */
    private static Optional<Path> cached(HubCache cache, HubReference ref) {
        Optional<String> commit = cache.commit(ref);
        if (commit.isEmpty()) {
            return Optional.empty();
        }
        List<String> files;
        if (ref.quant() != null) {
            try {
                files = QuantSelector.select(ref, cache.files(ref, commit.get()));
            } catch (HubException none) {
                return Optional.empty();
            }
        } else {
            files = parts(ref.file());
        }
        for (String f : files) {
            if (!Files.isRegularFile(cache.file(ref, commit.get(), f))) {
                return Optional.empty();
            }
        }
        return Optional.of(cache.file(ref, commit.get(), files.getFirst()));
    }

    private String cachedNote(HubReference ref) {
        return cache.commit(ref)
                .map(c -> "cached from " + ref.repo() + ": " + QuantSelector.available(cache.files(ref, c)))
                .orElse("nothing from " + ref.repo() + " is cached");
    }
}
