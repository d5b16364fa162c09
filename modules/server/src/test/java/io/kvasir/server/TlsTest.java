package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS from config with a keystore made here by keytool (a self-signed certificate for 127.0.0.1):
 * the API port serves the openai-java SDK over HTTPS, and two actor systems join over Artery's
 * tls-tcp transport, each trusting the other's certificate.
 */
class TlsTest {

    private static final String PASSWORD = "test-only-password";

    @TempDir
    static Path dir;

    private static Path keystore;

    @BeforeAll
    static void makeKeystore() throws Exception {
        keystore = dir.resolve("kvasir.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(
                        keytool.toString(),
                        "-genkeypair",
                        "-alias",
                        "kvasir",
                        "-keyalg",
                        "RSA",
                        "-keysize",
                        "2048",
                        "-validity",
                        "2",
                        "-dname",
                        "CN=localhost",
                        "-ext",
                        "SAN=ip:127.0.0.1,dns:localhost",
                        "-storetype",
                        "PKCS12",
                        "-keystore",
                        keystore.toString(),
                        "-storepass",
                        PASSWORD,
                        "-keypass",
                        PASSWORD)
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    @Test
    void apiPortServesTheOpenAiSdkOverHttps() throws Exception {
        Map<String, Object> tls = Map.of(
                "kvasir.http.tls.enabled",
                true,
                "kvasir.http.tls.keystore",
                keystore.toString(),
                "kvasir.http.tls.keystore-password",
                PASSWORD);
        X509TrustManager trust = trustManager();
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, new javax.net.ssl.TrustManager[] {trust}, null);
        try (KvasirNode node = KvasirNode.start(
                TestNodes.oneNode("simulated { simulated = true }", tls),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()))) {
            OpenAIClient sdk = OpenAIOkHttpClient.builder()
                    .baseUrl("https://127.0.0.1:"
                            + node.apiAddress().orElseThrow().getPort() + "/v1")
                    .apiKey("unused")
                    .sslSocketFactory(client.getSocketFactory())
                    .trustManager(trust)
                    .maxRetries(0)
                    .timeout(Duration.ofSeconds(60))
                    .build();
            try {
                ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                        .model("simulated")
                        .addUserMessage("hello over TLS")
                        .maxCompletionTokens(5)
                        .build();
                ChatCompletion answer = sdk.chat().completions().create(params);
                assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(5);
                try (StreamResponse<ChatCompletionChunk> stream =
                        sdk.chat().completions().createStreaming(params)) {
                    assertThat(stream.stream()
                                    .flatMap(c -> c.choices().stream())
                                    .filter(c -> c.delta().content().isPresent())
                                    .count())
                            .isPositive();
                }
            } finally {
                sdk.close();
            }
        }
    }

    @Test
    void twoSystemsJoinOverTlsArtery() throws Exception {
        ActorSystem<Void> a = ActorSystem.create(Behaviors.empty(), "kvasir", artery());
        ActorSystem<Void> b = ActorSystem.create(Behaviors.empty(), "kvasir", artery());
        try {
            Cluster.get(a)
                    .manager()
                    .tell(Join.create(Cluster.get(a).selfMember().address()));
            Cluster.get(b)
                    .manager()
                    .tell(Join.create(Cluster.get(a).selfMember().address()));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (upMembers(a) < 2 || upMembers(b) < 2) {
                assertThat(System.nanoTime()).as("both Up within 30 s").isLessThan(deadline);
                Thread.sleep(100);
            }
            assertThat(a.settings().config().getString("akka.remote.artery.transport"))
                    .isEqualTo("tls-tcp");
        } finally {
            a.terminate();
            b.terminate();
            a.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            b.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    /** Artery over TLS, each side presenting and trusting the test certificate (mutual authentication). */
    private static Config artery() {
        String engine = "akka.remote.artery.ssl.config-ssl-engine.";
        Map<String, Object> c = Map.of(
                "akka.remote.artery.transport",
                "tls-tcp",
                "akka.remote.artery.canonical.port",
                0,
                engine + "key-store",
                keystore.toString(),
                engine + "trust-store",
                keystore.toString(),
                engine + "key-store-password",
                PASSWORD,
                engine + "key-password",
                PASSWORD,
                engine + "trust-store-password",
                PASSWORD,
                engine + "protocol",
                "TLSv1.3",
                engine + "enabled-algorithms",
                List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
                engine + "require-mutual-authentication",
                true);
        return ConfigFactory.parseMap(c)
                .withFallback(ConfigFactory.parseString("akka.cluster.roles = [decode]"))
                .withFallback(ConfigFactory.load())
                .resolve();
    }

    private static int upMembers(ActorSystem<?> system) {
        return (int)
                StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
                        .filter(m -> m.status() == MemberStatus.up())
                        .count();
    }

    private static X509TrustManager trustManager() throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(store);
        return (X509TrustManager) tmf.getTrustManagers()[0];
    }
}
