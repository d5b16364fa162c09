package io.kvasir.http;

import io.kvasir.engine.RecordWithers;
import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.connection.ConnectionLimits;
import io.kvasir.http.openai.JsonLimits;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every wither changes what it names and keeps every other setting. */
class HttpSettingsWithersTest {

    private static final HttpSettings BASE = TestServer.defaults();

    @Test
    void eachWitherChangesOnlyItsSettings() {
        RecordWithers.assertChangesOnly(BASE, s -> s.withPort(BASE.port() + 1), "port");
        RecordWithers.assertChangesOnly(
                BASE,
                s -> s.withManagement(!BASE.managementEnabled(), BASE.managementPort() + 1),
                "managementEnabled",
                "managementPort");
        RecordWithers.assertChangesOnly(BASE, s -> s.withApiKeys(List.of("another-key")), "apiKeys");
        RecordWithers.assertChangesOnly(
                BASE, s -> s.withMaxRequestBytes(BASE.maxRequestBytes() + 1), "maxRequestBytes");
        RecordWithers.assertChangesOnly(
                BASE, s -> s.withRequestTimeout(BASE.requestTimeout().plusSeconds(1)), "requestTimeout");
        RecordWithers.assertChangesOnly(
                BASE,
                s -> s.withJson(
                        new JsonLimits(BASE.json().maxDepth() + 1, BASE.json().maxNumberLength())),
                "json");
        RecordWithers.assertChangesOnly(
                BASE,
                s -> s.withConnections(new ConnectionLimits(7, Duration.ofSeconds(3), Duration.ofSeconds(4))),
                "connections");
        RecordWithers.assertChangesOnly(
                BASE, s -> s.withManagementAccess(ManagementAccess.generated()), "managementAccess");
    }
}
