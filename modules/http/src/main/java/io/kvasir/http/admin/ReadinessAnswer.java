package io.kvasir.http.admin;

import static akka.http.javadsl.server.Directives.extractUnmatchedPath;
import static akka.http.javadsl.server.Directives.mapResponse;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.Route;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Puts the reason a node is not ready into Akka Management's {@code /ready} answer. Akka names a
 * failed check by its class, and wraps a Java check in a lambda first, so the answer was only
 * {@code Not Healthy: Check [akka.management.internal.HealthChecksImpl$$Lambda/0x...] not ok}, while
 * the reason ("warming up the serving path (1571 of 8000 requests)") was in the log alone.
 *
 * <p>The status stays Akka's (500 when not ready), so a Kubernetes probe sees what it saw before;
 * only the body changes, and only when the fabric has a reason (a failure of another check, with
 * the fabric ready, keeps Akka's text). {@link FabricReadyCheck} itself still answers false rather
 * than failing its future with the reason: Akka would log that failure at WARN on every probe.
 */
final class ReadinessAnswer {

    private ReadinessAnswer() {}

    /**
     * @param management    Akka Management's routes
     * @param readinessPath {@code akka.management.health-checks.readiness-path}
     * @param notReady      why the node is not ready, empty when it is
     */
    static Route explained(Route management, String readinessPath, Supplier<Optional<String>> notReady) {
        String ready = "/" + readinessPath;
        // Tested, not matched: Akka's routes must still find the whole path.
        return extractUnmatchedPath(path -> path.equals(ready) || path.equals(ready + "/")
                ? mapResponse(response -> explain(response, notReady), () -> management)
                : management);
    }

    static HttpResponse explain(HttpResponse response, Supplier<Optional<String>> notReady) {
        if (response.status().isSuccess()) {
            return response;
        }
        return notReady.get()
                .map(why -> response.withEntity(ContentTypes.TEXT_PLAIN_UTF8, "Not ready: " + why))
                .orElse(response);
    }
}
