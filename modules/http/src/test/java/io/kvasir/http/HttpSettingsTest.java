package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.kvasir.http.connection.ConnectionLimits;
import io.kvasir.http.openai.JsonLimits;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class HttpSettingsTest {

    @Test
    void referenceConfDefaults() {
        HttpSettings s = HttpSettings.fromConfig(ConfigFactory.load().getConfig("kvasir.http"));

        assertThat(s.host()).isEqualTo("127.0.0.1");
        assertThat(s.managementHost()).isEqualTo("127.0.0.1");
        assertThat(s.managementEnabled()).isTrue();
        assertThat(s.apiKeys()).isEmpty();
        assertThat(s.maxRequestBytes()).isEqualTo(4L * 1024 * 1024);
        assertThat(s.requestTimeout()).isEqualTo(Duration.ofSeconds(300));
        assertThat(s.json()).isEqualTo(JsonLimits.DEFAULT);
        assertThat(s.connections()).isEqualTo(ConnectionLimits.DEFAULT);
        assertThat(s.managementAccess().allowedHosts()).isEmpty();
        assertThat(s.managementAccess().allowedOrigins()).isEmpty();
    }

    @Test
    void overridesAreRead() {
        HttpSettings s = HttpSettings.fromConfig(
                ConfigFactory.parseString("""
                port = 9000, api-keys = ["a", "b"], max-request-bytes = 1000, management.port = 9001
                json { max-depth = 10, max-number-length = 20 }
                max-connections = 50, header-read-timeout = 3s, idle-timeout = 7s, accept-backlog = 256
                """).withFallback(ConfigFactory.load().getConfig("kvasir.http")));

        assertThat(s.port()).isEqualTo(9000);
        assertThat(s.managementPort()).isEqualTo(9001);
        assertThat(s.apiKeys()).containsExactly("a", "b");
        assertThat(s.maxRequestBytes()).isEqualTo(1000);
        assertThat(s.json()).isEqualTo(new JsonLimits(10, 20));
        assertThat(s.connections())
                .isEqualTo(new ConnectionLimits(50, Duration.ofSeconds(3), Duration.ofSeconds(7), 256));
    }

    @Test
    void aMissingManagementTokenIsGeneratedFreshAndNeverPrintedWithTheSettings() {
        HttpSettings a = HttpSettings.fromConfig(ConfigFactory.load().getConfig("kvasir.http"));
        HttpSettings b = HttpSettings.fromConfig(ConfigFactory.load().getConfig("kvasir.http"));

        assertThat(a.managementAccess().tokenGenerated()).isTrue();
        assertThat(a.managementAccess().token())
                .matches("[0-9a-f]{64}")
                .isNotEqualTo(b.managementAccess().token());
        assertThat(a.toString()).doesNotContain(a.managementAccess().token());

        HttpSettings configured = HttpSettings.fromConfig(
                ConfigFactory.parseString("""
                management { token = "s3cret", allowed-hosts = ["Admin.Example"], allowed-origins = ["https://ops"] }
                """).withFallback(ConfigFactory.load().getConfig("kvasir.http")));
        assertThat(configured.managementAccess().token()).isEqualTo("s3cret");
        assertThat(configured.managementAccess().tokenGenerated()).isFalse();
        assertThat(configured.managementAccess().allowedHosts()).containsExactly("admin.example");
        assertThat(configured.managementAccess().allowedOrigins()).containsExactly("https://ops");
    }

    @Test
    void invalidValuesAreNamed() {
        HttpSettings base = TestServer.defaults();
        assertThatThrownBy(() -> base.withPort(70000)).hasMessageContaining("kvasir.http.port");
        assertThatThrownBy(() -> base.withMaxRequestBytes(0)).hasMessageContaining("max-request-bytes");
        assertThatThrownBy(() -> base.withApiKeys(List.of(" "))).hasMessageContaining("api-keys");
        assertThatThrownBy(() -> new JsonLimits(0, 100)).hasMessageContaining("json.max-depth");
        assertThatThrownBy(() -> new ConnectionLimits(0, Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .hasMessageContaining("max-connections");
        assertThatThrownBy(() -> new ConnectionLimits(10, Duration.ZERO, Duration.ofSeconds(1)))
                .hasMessageContaining("header-read-timeout");
        assertThatThrownBy(() -> new ConnectionLimits(10, Duration.ofSeconds(1), Duration.ofSeconds(1), 0))
                .hasMessageContaining("accept-backlog");
    }

    @Test
    void theAcceptBacklogHoldsABurstWhereAkkaHttpsDefaultWouldDropSyns() {
        // akka-http's own default (akka.http.server.backlog = 100) is not what binds the ports.
        assertThat(HttpSettings.fromConfig(ConfigFactory.load().getConfig("kvasir.http"))
                        .connections()
                        .acceptBacklog())
                .isEqualTo(4096);
    }

    @Test
    void bothPortsAnswerParseErrorsInTheJsonShape() {
        var api = EdgeServerSettings.api(ConfigFactory.load(), TestServer.defaults());
        var management = EdgeServerSettings.management(ConfigFactory.load());

        assertThat(api.getParsingErrorHandler()).isEqualTo(JsonParsingErrorHandler.class.getName());
        assertThat(management.getParsingErrorHandler()).isEqualTo(JsonParsingErrorHandler.class.getName());
        // The parser lets twice the 4 MiB limit through, read and dropped before the 413 (StrictBody).
        assertThat(api.getParserSettings().getMaxContentLength()).isEqualTo(8L * 1024 * 1024);
        assertThat(api.getTimeouts().requestTimeout().toSeconds()).isEqualTo(300);
    }
}
