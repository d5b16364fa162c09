package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenants over a real node (real engine, synthetic model): a key makes its caller a tenant, each
 * tenant's prefix cache and sessions are its own, a tenant's quota refuses only that tenant, a
 * tenant sees only its models, and the policy is replaced at runtime through the management API
 * without dropping a stream, or refused as a whole when malformed.
 */
class TenantsServeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOKEN = "management-token-for-tests";

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static HttpClient http;
    private static String api;
    private static String management;

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        String models = "tiny { path = \"" + model + "\", synthetic = true, max-model-length = 512 }\n"
                + "other { path = \"" + model + "\", synthetic = true, max-model-length = 512 }";
        node = KvasirNode.start(
                ConfigFactory.parseString(policy(60))
                        .withFallback(TestNodes.oneNode(models, Map.of("kvasir.http.management.token", TOKEN))),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        http = HttpClient.newHttpClient();
        api = "http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort();
        management =
                "http://127.0.0.1:" + node.managementAddress().orElseThrow().getPort();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void tenantsGuardTheApiPortsMetricsAndAnEmptyReloadChangesNothing() throws Exception {
        assertThat(get(api + "/metrics", null).statusCode()).isEqualTo(401);
        HttpResponse<String> tenant = get(api + "/metrics", "key-a");
        assertThat(tenant.statusCode()).isEqualTo(403);
        assertThat(tenant.body()).doesNotContain("tenant=");

        // curl -d @missing-file sends an empty body: refused, and the keys keep guarding the API.
        HttpResponse<String> empty = http.send(
                HttpRequest.newBuilder(URI.create(management + "/admin/tenants"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer " + TOKEN)
                        .PUT(HttpRequest.BodyPublishers.ofString(""))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(empty.statusCode()).as(empty.body()).isEqualTo(400);
        assertThat(post(null, body("tiny", "hello", 2)).statusCode()).isEqualTo(401);
        assertThat(post("key-b", body("tiny", "hello", 2)).statusCode()).isEqualTo(200);
    }

    /** Tenant a: model tiny only, a small token budget; tenant b: every model, no limits. */
    private static String policy(int tokensPerMinuteOfA) {
        return "kvasir.tenants {\n"
                + "  a { api-keys = [\"sha256:" + sha256("key-a") + "\"], models = [tiny], tokens-per-minute = "
                + tokensPerMinuteOfA + " }\n"
                + "  b { api-keys = [\"sha256:" + sha256("key-b") + "\"] }\n"
                + "}";
    }

    @Test
    void tenantsNeverHitEachOthersCachedPrefixesButDoTheirOwn() throws Exception {
        reload(policy(1_000_000));
        String prompt = "A long shared story opening, the same words for both tenants, ".repeat(6);
        assertThat(cached(complete("key-a", "tiny", prompt, 1, null))).isLessThan(64);
        assertThat(cached(complete("key-a", "tiny", prompt, 1, null)))
                .as("a tenant's own repeat")
                .isGreaterThan(300);
        // At most its own earlier requests' first block (the chat template's opening).
        assertThat(cached(complete("key-b", "tiny", prompt, 1, null)))
                .as("another tenant's identical prompt")
                .isLessThan(64);
        assertThat(cached(complete("key-b", "tiny", prompt, 1, null))).isGreaterThan(300);
    }

    @Test
    void aSecondTenantWithTheSameSessionIdAndPromptStartsCold() throws Exception {
        reload(policy(1_000_000));
        try {
            String prompt = "Both tenants send exactly this conversation opening to the node, ".repeat(6);
            complete("key-a", "tiny", prompt, 1, "same-session");
            assertThat(cached(complete("key-a", "tiny", prompt, 1, "same-session")))
                    .isGreaterThan(300);
            // Tenant b may hit its own first block (the chat template's opening, the same in every one
            // of its earlier requests), never tenant a's conversation.
            assertThat(cached(complete("key-b", "tiny", prompt, 1, "same-session")))
                    .as("tenant b must not reach tenant a's session or blocks")
                    .isLessThan(64);
        } finally {
            reload(policy(60));
        }
    }

    @Test
    void aTenantOverItsTokenBudgetIsRefusedAloneWithRetryAfter() throws Exception {
        reload(policy(60));
        HttpResponse<String> refused = null;
        for (int i = 0; i < 5 && refused == null; i++) {
            HttpResponse<String> r = post("key-a", body("tiny", "Spend my budget on a few words please", 24));
            if (r.statusCode() == 429) {
                refused = r;
            } else {
                assertThat(r.statusCode()).isEqualTo(200);
            }
        }
        assertThat(refused).as("tenant a runs out of its 60 tokens a minute").isNotNull();
        assertThat(JSON.readTree(refused.body()).path("error").path("code").asText())
                .isEqualTo("tenant_quota_exceeded");
        assertThat(Integer.parseInt(refused.headers().firstValue("Retry-After").orElseThrow()))
                .isBetween(1, 60);
        for (int i = 0; i < 5; i++) {
            assertThat(post("key-b", body("tiny", "Spend my budget on a few words please", 24))
                            .statusCode())
                    .as("tenant b is unaffected")
                    .isEqualTo(200);
        }
    }

    @Test
    void aModelOutsideTheTenantsListIsUnknownToIt() throws Exception {
        reload(policy(1_000_000));
        HttpResponse<String> refused = post("key-a", body("other", "hello", 2));
        assertThat(refused.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(refused.body()).path("error").path("code").asText())
                .isEqualTo("model_not_found");
        assertThat(post("key-b", body("other", "hello", 2)).statusCode()).isEqualTo(200);
        assertThat(get(api + "/v1/models", "key-a").body()).contains("\"tiny\"").doesNotContain("\"other\"");
        assertThat(get(api + "/v1/models", "key-b").body()).contains("\"tiny\"", "\"other\"");
    }

    @Test
    void aReloadTakesEffectWithoutDroppingAStreamAndAMalformedOneChangesNothing() throws Exception {
        reload(policy(1_000_000));
        HttpResponse<InputStream> stream = http.send(
                request(api + "/v1/chat/completions", "key-b")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                body("tiny", "Tell me a long story", 64).replace("{", "{\"stream\":true,")))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            assertThat(reader.readLine()).startsWith("data: ");

            // Mid-stream: tenant c appears, tenant b keeps its key.
            String withC =
                    policy(1_000_000).replace("}\n}", "}\n  c { api-keys = [\"sha256:" + sha256("key-c") + "\"] }\n}");
            assertThat(putTenants(withC).statusCode()).isEqualTo(200);
            assertThat(post("key-c", body("tiny", "hello", 2)).statusCode()).isEqualTo(200);

            String rest = reader.lines().reduce("", (x, y) -> x + y + "\n");
            assertThat(rest).contains("data: [DONE]");
        }

        HttpResponse<String> malformed =
                putTenants("kvasir.tenants {\n  d {\n    api-keys = [\"plain-key-in-config\"]\n  }\n}");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(malformed.body()).path("error").path("message").asText())
                .contains("tenants: 3", "sha256")
                .doesNotContain("plain-key-in-config");
        assertThat(post("key-c", body("tiny", "hello", 2)).statusCode())
                .as("the policy in force stayed")
                .isEqualTo(200);
        assertThat(get(management + "/admin/tenants", null).body())
                .contains("\"c\"")
                .doesNotContain(sha256("key-c"));
        reload(policy(60));
    }

    private static int cached(JsonNode answer) {
        return answer.path("usage")
                .path("prompt_tokens_details")
                .path("cached_tokens")
                .asInt(0);
    }

    private static JsonNode complete(String key, String model, String prompt, int maxTokens, String session)
            throws Exception {
        return JSON.readTree(post(key, body(model, prompt, maxTokens), session).body());
    }

    private static String body(String model, String prompt, int maxTokens) throws Exception {
        return JSON.writeValueAsString(Map.of(
                "model",
                model,
                "max_tokens",
                maxTokens,
                "temperature",
                0,
                "messages",
                java.util.List.of(Map.of("role", "user", "content", prompt))));
    }

    private static HttpResponse<String> post(String key, String body) throws Exception {
        return post(key, body, null);
    }

    private static HttpResponse<String> post(String key, String body, String session) throws Exception {
        HttpRequest.Builder b = request(api + "/v1/chat/completions", key);
        if (session != null) {
            b.header("X-Session-Id", session);
        }
        return http.send(
                b.POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String url, String key) throws Exception {
        return http.send(request(url, key).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder request(String url, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json");
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    private static void reload(String hocon) throws Exception {
        HttpResponse<String> r = putTenants(hocon);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private static HttpResponse<String> putTenants(String hocon) throws Exception {
        String json = ConfigFactory.parseString(hocon).root().render(com.typesafe.config.ConfigRenderOptions.concise());
        if (hocon.contains("plain-key-in-config")) {
            json = "{\n\"tenants\": {\n\"d\": {\"api-keys\": [\"plain-key-in-config\"]}\n}\n}";
        }
        return http.send(
                HttpRequest.newBuilder(URI.create(management + "/admin/tenants"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json")
                        .header("Authorization", "Bearer " + TOKEN)
                        .PUT(HttpRequest.BodyPublishers.ofString(json))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String sha256(String key) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
