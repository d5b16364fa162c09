package io.kvasir.http;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** A real akka-http server on a random loopback port over a {@link FakeFabric}, for one test class. */
public final class TestServer implements AutoCloseable {

    public static final String API_KEY = "test-key";

    static final Config QUIET = ConfigFactory.parseString("""
            akka.loglevel = WARNING
            akka.loggers = ["akka.event.slf4j.Slf4jLogger"]
            akka.logging-filter = "akka.event.slf4j.Slf4jLoggingFilter"
            akka.remote.artery.canonical.port = 0
            """);

    public final FakeFabric fabric = new FakeFabric();
    public final ActorTestKit testKit;
    public final KvasirHttp.Bindings bindings;
    public final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public TestServer(Config config, HttpSettings settings) {
        testKit = ActorTestKit.create("http-test", config.withFallback(QUIET).withFallback(ConfigFactory.load()));
        try {
            bindings = KvasirHttp.start(testKit.system(), fabric, settings)
                    .toCompletableFuture()
                    .get();
        } catch (Exception e) {
            testKit.shutdownTestKit();
            throw new IllegalStateException("test server did not start", e);
        }
    }

    /** API port only, with {@link #API_KEY} required and a 64 KiB body limit. */
    public static TestServer api() {
        return new TestServer(
                ConfigFactory.empty(),
                defaults()
                        .withManagement(false, 0)
                        .withApiKeys(List.of(API_KEY, "second-key"))
                        .withMaxRequestBytes(64 * 1024));
    }

    public static HttpSettings defaults() {
        return HttpSettings.fromConfig(ConfigFactory.load().getConfig("kvasir.http"))
                .withPort(0);
    }

    public String base() {
        return "http://127.0.0.1:" + bindings.apiAddress().getPort();
    }

    public HttpResponse<String> post(String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + API_KEY)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A POST of raw bytes with only the API key set: the test gives every other header. */
    public HttpResponse<String> postBytes(String path, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + API_KEY)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    public int apiPort() {
        return bindings.apiAddress().getPort();
    }

    public HttpResponse<String> get(String url) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + API_KEY)
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        testKit.shutdownTestKit();
    }
}
