package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.hub.FakeHub;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hf://} models through the real command line, in a child JVM whose environment points
 * HF_ENDPOINT at a local stand-in for the hub: the CLI's --model, a node resolving a configured
 * model itself, offline mode, and the one-line error a user sees.
 */
class HubModelCliTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static FakeHub hub;
    private static Path cache;

    @BeforeAll
    static void startHub() throws Exception {
        Path model = dir.resolve("tiny-Q8_0.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny().withType(GgmlType.Q8_0), model);
        hub = new FakeHub().repo("kvasir/tiny-GGUF", Map.of("tiny-Q8_0.gguf", Files.readAllBytes(model)));
        cache = dir.resolve("cache");
    }

    @AfterAll
    static void stopHub() {
        hub.close();
    }

    private record Run(int exit, String stdout, List<String> stderr) {}

    private static ProcessBuilder kvasir(Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "--add-modules",
                "jdk.incubator.vector",
                "-XX:Tier3DelayOn=100000",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("HF_") || k.startsWith("KVASIR_"));
        pb.environment().put("KVASIR_CACHE", cache.toString());
        pb.environment().put("HF_ENDPOINT", hub.endpoint().toString());
        pb.environment().putAll(env);
        return pb;
    }

    private static Run run(Map<String, String> env, String... args) throws Exception {
        Process p = kvasir(env, args).start();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        String out = read(p.getInputStream());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("kvasir exits").isTrue();
        List<String> errLines = err.get()
                .lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules"))
                .toList();
        return new Run(p.exitValue(), out, errLines);
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String[] generate(String model) {
        return new String[] {
            "generate", "--model", model, "--prompt", "Hello", "--max-tokens", "3", "--threads", "1", "--json"
        };
    }

    @Test
    void generateFetchesByQuantTypeThenRunsOfflineFromTheCache() throws Exception {
        Run online = run(Map.of(), generate("hf://kvasir/tiny-GGUF:q8_0"));
        assertThat(online.exit()).as(String.join("\n", online.stderr())).isZero();
        JsonNode result = JSON.readTree(online.stdout().strip().lines().toList().getLast());
        assertThat(result.get("token_ids").size()).isBetween(1, 3);
        assertThat(online.stderr()).anySatisfy(l -> assertThat(l).startsWith("kvasir: downloading tiny-Q8_0.gguf"));
        assertThat(cache.resolve("hf/kvasir/tiny-GGUF/snapshots/" + FakeHub.COMMIT + "/tiny-Q8_0.gguf"))
                .isRegularFile();

        int requests = hub.seen.size();
        Run offline = run(Map.of("HF_HUB_OFFLINE", "1"), generate("hf://kvasir/tiny-GGUF:Q8_0"));
        assertThat(offline.exit()).as(String.join("\n", offline.stderr())).isZero();
        assertThat(JSON.readTree(offline.stdout().strip().lines().toList().getLast())
                        .get("token_ids"))
                .isEqualTo(result.get("token_ids"));
        assertThat(hub.seen).hasSize(requests);
    }

    @Test
    void anUnknownRepositoryIsOneLineAndNoStackTrace() throws Exception {
        Run r = run(Map.of(), generate("hf://nobody/none-GGUF:Q4_0"));

        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.stderr())
                .containsExactly("kvasir: hf://nobody/none-GGUF:Q4_0: no repository nobody/none-GGUF on "
                        + hub.endpoint() + " (or it is private or gated: set HF_TOKEN)");
    }

    @Test
    void aNodeFetchesAConfiguredHubModelItself() throws Exception {
        Path conf = dir.resolve("hub-model.conf");
        Files.writeString(conf, "kvasir.models { m { path = \"hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf\" } }\n");
        Process p = kvasir(
                        Map.of(),
                        "serve",
                        "--config",
                        conf.toString(),
                        "--port",
                        "0",
                        "--management-port",
                        "0",
                        "--remote-port",
                        "0")
                .redirectErrorStream(true)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String api = null;
            for (String line; api == null && (line = out.readLine()) != null; ) {
                if (line.startsWith("kvasir: OpenAI API")) {
                    api = line.substring(line.indexOf("http"));
                }
            }
            assertThat(api).as("the node announces its API").isNotNull();
            Thread drain = new Thread(() -> read(p.getInputStream()));
            drain.setDaemon(true);
            drain.start();

            HttpClient http = HttpClient.newHttpClient();
            HttpRequest completion = HttpRequest.newBuilder(URI.create(api + "/completions"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"m\",\"prompt\":\"Hello\",\"max_tokens\":2,\"temperature\":0}"))
                    .timeout(Duration.ofSeconds(60))
                    .build();
            // The replica loads (and here downloads) after the node starts: ask until it answers.
            HttpResponse<String> r = null;
            for (int attempt = 0; attempt < 60; attempt++) {
                r = http.send(completion, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    break;
                }
                Thread.sleep(1000);
            }
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).at("/usage/completion_tokens").asInt())
                    .isBetween(1, 2);
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
