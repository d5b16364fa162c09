package io.kvasir.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufSplitWriter;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code hf://} models fetched from a local stand-in for the hub, and every way that goes wrong. */
class HubResolverTest {

    private static final String REPO = "kvasir/tiny-GGUF";
    private static final Map<String, byte[]> FILES = new LinkedHashMap<>();

    @TempDir
    static Path models;

    @TempDir
    Path cache;

    private FakeHub hub;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeAll
    static void writeModels() throws Exception {
        FILES.put("tiny-Q8_0.gguf", model(GgmlType.Q8_0));
        FILES.put("tiny-Q4_0.gguf", model(GgmlType.Q4_0));
        FILES.put("mmproj-tiny-Q8_0.gguf", new byte[] {1, 2, 3});
        FILES.put("README.md", "# tiny".getBytes(StandardCharsets.UTF_8));
        Path whole = models.resolve("tiny-F32.gguf");
        SyntheticModel.write(Spec.tiny().withType(GgmlType.F32), whole);
        Path dir = Files.createDirectory(models.resolve("F32"));
        for (Path part : GgufSplitWriter.split(whole, 3, dir, "tiny-F32")) {
            FILES.put("F32/" + part.getFileName(), Files.readAllBytes(part));
        }
    }

    private static byte[] model(GgmlType type) throws Exception {
        Path p = models.resolve("tiny-" + type + ".gguf");
        SyntheticModel.write(Spec.tiny().withType(type), p);
        return Files.readAllBytes(p);
    }

    @BeforeEach
    void startHub() {
        hub = new FakeHub().repo(REPO, FILES);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private HubResolver resolver(URI endpoint, Optional<String> token, boolean offline) {
        return new HubResolver(
                new HubSettings(endpoint, token, cache, offline),
                new PrintStream(log, true, StandardCharsets.UTF_8),
                false);
    }

    private HubResolver resolver() {
        return resolver(hub.endpoint(), Optional.empty(), false);
    }

    private static HubReference ref(String s) {
        return HubReference.parse(s);
    }

    private String log() {
        return log.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aNamedFileIsDownloadedIntoTheCacheByRepoAndCommitAndLoads() throws Exception {
        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));

        assertThat(p)
                .isEqualTo(cache.resolve("hf/kvasir/tiny-GGUF/snapshots/" + FakeHub.COMMIT + "/tiny-Q8_0.gguf")
                        .toAbsolutePath());
        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(cache.resolve("hf/kvasir/tiny-GGUF/refs/main")).hasContent(FakeHub.COMMIT);
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.bool("kvasir.synthetic", false)).isTrue();
        }
        assertThat(log()).contains("kvasir: downloading tiny-Q8_0.gguf").contains("done");
        // The storage host the hub redirects to never sees a token (there was none; see the gated test).
        assertThat(hub.seen).noneMatch(s -> s.server().equals("storage") && s.authorized());
    }

    @Test
    void aCachedFileIsNotFetchedAgain() {
        HubResolver r = resolver();
        Path first = r.resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));
        Path second = r.resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));

        assertThat(second).isEqualTo(first);
        assertThat(hub.count("storage", "GET")).isEqualTo(1);
        assertThat(hub.count("hub", "HEAD")).isEqualTo(2);
    }

    @Test
    void aDroppedConnectionIsResumedFromWhereItStopped() throws Exception {
        hub.dropAfter("tiny-Q8_0.gguf", 100_000, 1);

        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));

        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        // The hub sent 100,000 bytes before closing; a loaded machine can lose the last of them in
        // the close (seen: 98,224), so the resume is checked against what the log says arrived.
        List<String> ranges = hub.seen.stream()
                .filter(s -> s.server().equals("storage"))
                .map(FakeHub.Seen::range)
                .toList();
        assertThat(ranges).hasSize(2);
        assertThat(ranges.getFirst()).isNull();
        long resumedAt = Long.parseLong(ranges.get(1).replaceAll("bytes=(\\d+)-", "$1"));
        assertThat(resumedAt).isBetween(1L, 100_000L);
        assertThat(log()).contains("connection lost at " + DownloadProgress.size(resumedAt) + ", resuming");
        assertThat(p.resolveSibling("tiny-Q8_0.gguf.part")).doesNotExist();
    }

    @Test
    void aStalledDownloadIsDroppedAndResumed() throws Exception {
        hub.stallAfter("tiny-Q8_0.gguf", 150_000);
        HubResolver r = new HubResolver(
                new HubSettings(hub.endpoint(), Optional.empty(), cache, false),
                new PrintStream(log, true, StandardCharsets.UTF_8),
                false,
                java.time.Duration.ofMillis(500));

        Path p = r.resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));

        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(hub.seen.getLast().range()).isEqualTo("bytes=150000-");
        assertThat(log()).contains("connection lost at 146.5 KiB, resuming");
    }

    @Test
    void aConnectionClosedBeforeTheFirstByteIsResumedLikeAnyOther() throws Exception {
        // Headers, then the close: the HTTP client may fail the request itself rather than the body.
        hub.dropAfter("tiny-Q8_0.gguf", 0, 2);

        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));

        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(log()).contains("connection lost at 0 B, resuming");
    }

    @Test
    void aDownloadThatKeepsFailingKeepsItsPartForTheNextStartToResume() throws Exception {
        hub.dropAfter("tiny-Q8_0.gguf", 200_000, HubDownloader.ATTEMPTS);

        assertThatThrownBy(() -> resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf")))
                .isInstanceOf(HubException.class)
                .hasMessageStartingWith(
                        "hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf: the download of tiny-Q8_0.gguf stopped " + "at ")
                .hasMessageContaining("after 3 attempts; the part is kept in ")
                .hasMessageEndingWith("and the next start resumes it");
        Path part = cache.resolve("hf/kvasir/tiny-GGUF/snapshots/" + FakeHub.COMMIT + "/tiny-Q8_0.gguf.part");
        // 200,000 bytes sent each time; a close on a loaded machine can lose a few of the last.
        long kept = Files.size(part);
        assertThat(kept).isBetween(1L, 200_000L);

        // A later start (here the same resolver; a new process reads the same part) asks for the rest only.
        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));
        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(hub.seen.getLast().range()).isEqualTo("bytes=" + kept + "-");
        assertThat(part).doesNotExist();
    }

    @Test
    void aChecksumMismatchDeletesTheDownloadAndSaysSo() {
        hub.lieAboutChecksum("tiny-Q8_0.gguf");

        assertThatThrownBy(() -> resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf")))
                .isInstanceOf(HubException.class)
                .hasMessageMatching("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf: tiny-Q8_0.gguf: checksum mismatch: the hub "
                        + "says [0-9a-f]{64}, the download is [0-9a-f]{64}; the download was deleted, start again to "
                        + "fetch it anew");
        Path dir = cache.resolve("hf/kvasir/tiny-GGUF/snapshots/" + FakeHub.COMMIT);
        assertThat(dir.resolve("tiny-Q8_0.gguf")).doesNotExist();
        assertThat(dir.resolve("tiny-Q8_0.gguf.part")).doesNotExist();
    }

    @Test
    void anUnknownRepositoryIsNamed() {
        assertThatThrownBy(() -> resolver().resolve(ref("hf://nobody/nothing-GGUF/x.gguf")))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://nobody/nothing-GGUF/x.gguf: no repository nobody/nothing-GGUF on " + hub.endpoint()
                        + " (or it is private or gated: set HF_TOKEN)");
    }

    @Test
    void anUnknownFileIsNamedWithTheModelsTheRepositoryHas() {
        assertThatThrownBy(() -> resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q5_K_M.gguf")))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://kvasir/tiny-GGUF/tiny-Q5_K_M.gguf: kvasir/tiny-GGUF has no file 'tiny-Q5_K_M.gguf';"
                        + " its GGUF models: F32, Q4_0, Q8_0");
    }

    @Test
    void aGatedRepositoryNeedsTheTokenWhichNeverLeavesTheHub() throws Exception {
        hub.gatedRepo("kvasir/gated-GGUF", Map.of("tiny-Q8_0.gguf", FILES.get("tiny-Q8_0.gguf")));
        HubReference gated = ref("hf://kvasir/gated-GGUF/tiny-Q8_0.gguf");

        assertThatThrownBy(() -> resolver().resolve(gated))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://kvasir/gated-GGUF/tiny-Q8_0.gguf: kvasir/gated-GGUF is a gated repository: ask for "
                        + "access on " + hub.endpoint() + "/kvasir/gated-GGUF and set HF_TOKEN to a token of that "
                        + "account");

        Path p = resolver(hub.endpoint(), Optional.of(FakeHub.TOKEN), false).resolve(gated);
        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(hub.seen.getLast().server()).isEqualTo("storage");
        assertThat(hub.seen).filteredOn(s -> s.server().equals("storage")).noneMatch(FakeHub.Seen::authorized);
        assertThat(log()).doesNotContain(FakeHub.TOKEN);
    }

    @Test
    void noNetworkAndNothingCachedSaysBoth() throws Exception {
        URI refused = closedPort();

        assertThatThrownBy(() ->
                        resolver(refused, Optional.empty(), false).resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf")))
                .isInstanceOf(HubException.class)
                .hasMessageStartingWith("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf: cannot reach " + refused + " (")
                .hasMessageEndingWith(
                        "), and hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf is not in the cache " + cache.toAbsolutePath());
    }

    @Test
    void noNetworkFallsBackToTheCachedCopy() throws Exception {
        Path cached = resolver().resolve(ref("hf://kvasir/tiny-GGUF:Q8_0"));
        URI refused = closedPort();

        Path p = resolver(refused, Optional.empty(), false).resolve(ref("hf://kvasir/tiny-GGUF:q8_0"));

        assertThat(p).isEqualTo(cached);
        assertThat(log()).contains("cannot reach " + refused).contains("using the cached copy " + cached);
    }

    @Test
    void offlineModeUsesTheCacheAndNeverTheNetwork() {
        Path cached = resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"));
        int before = hub.seen.size();

        HubResolver offline = resolver(hub.endpoint(), Optional.empty(), true);
        assertThat(offline.resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf"))).isEqualTo(cached);
        assertThatThrownBy(() -> offline.resolve(ref("hf://kvasir/tiny-GGUF:Q4_0")))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://kvasir/tiny-GGUF:Q4_0: offline (HF_HUB_OFFLINE or KVASIR_OFFLINE) and not in the "
                        + "cache " + cache.toAbsolutePath() + "; cached from kvasir/tiny-GGUF: Q8_0");
        assertThat(hub.seen).hasSize(before);
    }

    @Test
    void aQuantTypePicksItsFileCaseInsensitivelyAndNeverAProjector() throws Exception {
        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF:q8_0"));

        assertThat(p.getFileName()).hasToString("tiny-Q8_0.gguf");
        assertThat(Files.readAllBytes(p)).isEqualTo(FILES.get("tiny-Q8_0.gguf"));
        assertThat(hub.seen).noneMatch(s -> s.path().contains("mmproj"));
    }

    @Test
    void aMissingQuantTypeListsThoseThereAre() {
        assertThatThrownBy(() -> resolver().resolve(ref("hf://kvasir/tiny-GGUF:Q4_K")))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://kvasir/tiny-GGUF:Q4_K: kvasir/tiny-GGUF has no GGUF model of quant type Q4_K; it has"
                        + " F32, Q4_0, Q8_0");
    }

    @Test
    void anAmbiguousQuantTypeNamesTheCandidates() {
        hub.repo(
                "kvasir/two-GGUF",
                Map.of("a-Q8_0.gguf", FILES.get("tiny-Q8_0.gguf"), "b-Q8_0.gguf", FILES.get("tiny-Q8_0.gguf")));

        assertThatThrownBy(() -> resolver().resolve(ref("hf://kvasir/two-GGUF:Q8_0")))
                .isInstanceOf(HubException.class)
                .hasMessage("hf://kvasir/two-GGUF:Q8_0: Q8_0 is ambiguous in kvasir/two-GGUF, it matches a-Q8_0.gguf,"
                        + " b-Q8_0.gguf; name the file: hf://kvasir/two-GGUF/FILE.gguf");
    }

    @Test
    void aSplitModelIsFetchedPartByPartAndLoadsAsOne() throws Exception {
        Path p = resolver().resolve(ref("hf://kvasir/tiny-GGUF:F32"));

        assertThat(p.getFileName()).hasToString("tiny-F32-00001-of-00003.gguf");
        try (GgufFile split = GgufFile.open(p);
                GgufFile whole = GgufFile.open(models.resolve("tiny-F32.gguf"))) {
            assertThat(split.parts()).hasSize(3);
            assertThat(split.tensors()).hasSameSizeAs(whole.tensors());
        }
        // Naming any part fetches the model (already cached: metadata only).
        Path again = resolver().resolve(ref("hf://kvasir/tiny-GGUF/F32/tiny-F32-00002-of-00003.gguf"));
        assertThat(again).isEqualTo(p);
        assertThat(hub.count("storage", "GET")).isEqualTo(3);
    }

    @Test
    void twoResolversAtOnceDownloadTheFileOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Callable<Path> fetch = () -> resolver().resolve(ref("hf://kvasir/tiny-GGUF/tiny-Q4_0.gguf"));
            List<Future<Path>> both = pool.invokeAll(List.of(fetch, fetch));
            assertThat(both.get(0).get()).isEqualTo(both.get(1).get());
            assertThat(Files.readAllBytes(both.get(0).get())).isEqualTo(FILES.get("tiny-Q4_0.gguf"));
        } finally {
            pool.shutdownNow();
        }
        assertThat(hub.count("storage", "GET")).isEqualTo(1);
    }

    @Test
    void everyErrorIsOneLine() {
        for (String bad :
                List.of("hf://nobody/x/y.gguf", "hf://kvasir/tiny-GGUF/nope.gguf", "hf://kvasir/tiny-GGUF:Q2_K")) {
            assertThatThrownBy(() -> resolver().resolve(ref(bad)))
                    .satisfies(
                            e -> assertThat(e.getMessage()).doesNotContain("\n").startsWith(bad));
        }
    }

    /** A port nothing listens on: connecting is refused at once. */
    private static URI closedPort() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        return URI.create("http://127.0.0.1:" + port);
    }
}
