package io.kvasir.http.connection;

import static akka.http.javadsl.server.Directives.complete;
import static akka.http.javadsl.server.Directives.extractRequest;
import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.settings.ServerSettings;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Connections run on {@code kvasir.http.dispatcher}, not on Akka's default dispatcher where the
 * fabric's sessions and replicas run: a burst of connections must not queue ahead of their work.
 * The route answers with the name of the thread it ran on.
 */
class ConnectionDispatcherTest {

    @Test
    void requestsAreHandledOnTheConnectionsOwnDispatcher() throws Exception {
        ActorSystem<Void> system = ActorSystem.create(
                Behaviors.empty(),
                "dispatcher-test",
                ConfigFactory.load(ConfigFactory.parseString(
                        "akka.remote.artery.canonical.port = 0\n" + "akka.loglevel = WARNING")));
        try {
            HttpBinding binding = GuardedServer.bind(
                            system,
                            "127.0.0.1",
                            0,
                            ServerSettings.create(system.classicSystem()),
                            new ConnectionLimits(16, Duration.ofSeconds(10), Duration.ofSeconds(10)),
                            extractRequest(
                                    request -> complete(Thread.currentThread().getName())))
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS);
            try (HttpClient client = HttpClient.newHttpClient()) {
                HttpResponse<String> response = client.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                        + binding.localAddress().getPort() + "/"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).contains(GuardedServer.DISPATCHER).doesNotContain("default-dispatcher");
            }
            binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
