package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
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
    }

    @Test
    void overridesAreRead() {
        HttpSettings s = HttpSettings.fromConfig(ConfigFactory.parseString("""
                port = 9000, api-keys = ["a", "b"], max-request-bytes = 1000, management.port = 9001
                """).withFallback(ConfigFactory.load().getConfig("kvasir.http")));

        assertThat(s.port()).isEqualTo(9000);
        assertThat(s.managementPort()).isEqualTo(9001);
        assertThat(s.apiKeys()).containsExactly("a", "b");
        assertThat(s.maxRequestBytes()).isEqualTo(1000);
    }

    @Test
    void invalidValuesAreNamed() {
        HttpSettings base = TestServer.defaults();
        assertThatThrownBy(() -> base.withPort(70000)).hasMessageContaining("kvasir.http.port");
        assertThatThrownBy(() -> base.withMaxRequestBytes(0)).hasMessageContaining("max-request-bytes");
        assertThatThrownBy(() -> base.withApiKeys(List.of(" "))).hasMessageContaining("api-keys");
    }

    @Test
    void serverTimeoutsLeaveRoomForTheRequestTimeout() {
        var server = ApiServer.serverSettings(ConfigFactory.load(), TestServer.defaults());

        assertThat(server.getTimeouts().idleTimeout().toSeconds()).isGreaterThanOrEqualTo(310);
        assertThat(server.getParserSettings().getMaxContentLength()).isEqualTo(4L * 1024 * 1024);
    }
}
