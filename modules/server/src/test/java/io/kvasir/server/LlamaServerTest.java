package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.Headers;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessage;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Kvasir in front of two real {@code llama-server} processes on loopback. Skipped when no
 * {@code llama-server} binary is on the PATH or at {@code /work/peers/llama.cpp/build/bin}.
 */
class LlamaServerTest {

    private static final List<Process> servers = new ArrayList<>();
    private static KvasirNode node;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        Optional<Path> binary = llamaServer();
        assumeTrue(binary.isPresent(), "no llama-server binary on PATH or at /work/peers/llama.cpp/build/bin");
        Path model = SharedData.require("models/stories260K.gguf");
        List<String> endpoints = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int port = freePort();
            servers.add(new ProcessBuilder(
                            binary.get().toString(),
                            "-m",
                            model.toString(),
                            "--host",
                            "127.0.0.1",
                            "--port",
                            String.valueOf(port),
                            "-c",
                            "512",
                            "--metrics",
                            "-t",
                            "1")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start());
            endpoints.add("\"http://127.0.0.1:" + port + "\"");
            awaitHealthy(port);
        }
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "stories { engine = openai-http, openai-http.endpoints = [" + String.join(", ", endpoints)
                                + "] }",
                        Map.of()),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort() + "/v1")
                .apiKey("unused")
                .maxRetries(2)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (node != null) {
            node.close();
        }
        servers.forEach(Process::destroy);
    }

    @Test
    void aSessionsTurnsStayOnOneServer() {
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder()
                .model("stories")
                .addUserMessage("Once upon a time")
                .maxCompletionTokens(8)
                .temperature(0.0)
                .putAdditionalHeader("X-Session-Id", "llama-session")
                .build();
        var one = client.chat().completions().withRawResponse().create(first);
        ChatCompletionMessage reply = one.parse().choices().getFirst().message();
        assertThat(reply.content()).isPresent();
        var two = client.chat()
                .completions()
                .withRawResponse()
                .create(first.toBuilder()
                        .addMessage(reply)
                        .addUserMessage("And then?")
                        .build());
        assertThat(two.parse().choices()).hasSize(1);
        assertThat(replica(two.headers())).isEqualTo(replica(one.headers()));
    }

    private static String replica(Headers headers) {
        return headers.values("X-Kvasir-Replica").getFirst();
    }

    private static Optional<Path> llamaServer() {
        Path peers = Path.of("/work/peers/llama.cpp/build/bin/llama-server");
        if (Files.isExecutable(peers)) {
            return Optional.of(peers);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, "llama-server");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void awaitHealthy(int port) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (HttpClient http = HttpClient.newHttpClient()) {
            while (System.nanoTime() < deadline) {
                try {
                    int status = http.send(
                                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    if (status == 200) {
                        return;
                    }
                } catch (java.io.IOException notYet) {
                    // still starting
                }
                Thread.sleep(200);
            }
        }
        throw new AssertionError("llama-server on port " + port + " did not become healthy");
    }
}
