package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.connection.ConnectionLimits;
import io.kvasir.http.openai.JsonLimits;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other setting. */
class HttpSettingsWithersTest {

    private static final HttpSettings BASE = TestServer.defaults();

    @Test
    void eachWitherChangesOnlyItsSettings() throws Exception {
        check(s -> s.withPort(BASE.port() + 1), "port");
        check(
                s -> s.withManagement(!BASE.managementEnabled(), BASE.managementPort() + 1),
                "managementEnabled",
                "managementPort");
        check(s -> s.withApiKeys(List.of("another-key")), "apiKeys");
        check(s -> s.withMaxRequestBytes(BASE.maxRequestBytes() + 1), "maxRequestBytes");
        check(s -> s.withRequestTimeout(BASE.requestTimeout().plusSeconds(1)), "requestTimeout");
        check(
                s -> s.withJson(
                        new JsonLimits(BASE.json().maxDepth() + 1, BASE.json().maxNumberLength())),
                "json");
        check(
                s -> s.withConnections(new ConnectionLimits(7, Duration.ofSeconds(3), Duration.ofSeconds(4))),
                "connections");
        check(s -> s.withManagementAccess(ManagementAccess.generated()), "managementAccess");
    }

    private static void check(UnaryOperator<HttpSettings> wither, String... changed) throws Exception {
        HttpSettings copy = wither.apply(BASE);
        Set<String> names = Set.of(changed);
        for (RecordComponent c : HttpSettings.class.getRecordComponents()) {
            Object before = c.getAccessor().invoke(BASE);
            Object after = c.getAccessor().invoke(copy);
            if (names.contains(c.getName())) {
                assertThat(after).as(c.getName()).isNotEqualTo(before);
            } else {
                assertThat(after).as(c.getName()).isEqualTo(before);
            }
        }
    }
}
