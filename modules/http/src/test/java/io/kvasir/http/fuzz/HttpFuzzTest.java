package io.kvasir.http.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.http.FakeFabric;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.LogCapture;
import io.kvasir.http.RawHttp;
import io.kvasir.http.TestServer;
import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.openai.OpenAiJson;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Seeded fuzzing of both ports over the fake fabric: a few thousand generated and mutated requests
 * (see {@link FuzzCases}). Every one must get a well-formed HTTP answer within the time bound, never
 * a 5xx but the documented ones (503 from the fake's refusal, 501 for an unknown method, 505 for an
 * unknown HTTP version), every 4xx/5xx must be the OpenAI error shape, and nothing may be logged at
 * ERROR (or even WARN: all of it is the client's doing). The one exception to "an answer": a request whose body the client cut short and then
 * closed its side, which the server may simply close.
 *
 * <p>Replay: {@code -Dkvasir.fuzz.seed=<seed>} (or {@code random}), {@code -Dkvasir.fuzz.count=<n>},
 * {@code -Dkvasir.fuzz.case=<i>} for one case only. A failure prints the seed and the case.
 */
class HttpFuzzTest {

    private static final long DEFAULT_SEED = 20_261_206L;
    private static final int DEFAULT_COUNT = 4_000;
    private static final int ANSWER_TIMEOUT_MILLIS = 10_000;
    private static final Set<Integer> DOCUMENTED_5XX = Set.of(501, 503, 505);

    @Test
    void everyRequestGetsAWellFormedAnswerAndNoServerError() throws Exception {
        long seed = seed();
        int count = Integer.getInteger("kvasir.fuzz.count", DEFAULT_COUNT);
        Integer only = Integer.getInteger("kvasir.fuzz.case");
        HttpSettings settings = TestServer.defaults()
                .withManagement(true, 0)
                .withApiKeys(List.of(TestServer.API_KEY))
                .withMaxRequestBytes(64 * 1024)
                .withManagementAccess(ManagementAccess.generated().withToken(FuzzCases.MANAGEMENT_TOKEN));
        try (TestServer server = new TestServer(ConfigFactory.parseString("akka.actor.provider = local"), settings)) {
            server.fabric.script(request -> switch (String.valueOf(request.tenant())) {
                case FuzzCases.USER_UNAVAILABLE ->
                    FakeFabric.refuse(new FabricException(FabricException.Kind.UNAVAILABLE, "No replica is up."))
                            .apply(request);
                case FuzzCases.USER_OVERLOADED ->
                    FakeFabric.refuse(new FabricException(FabricException.Kind.OVERLOADED, "Queue full.", null, 2))
                            .apply(request);
                default -> FakeFabric.reply("Hello", ",", " world").apply(request);
            });
            int apiPort = server.apiPort();
            int managementPort =
                    server.bindings.managementAddress().orElseThrow().getPort();
            long started = System.nanoTime();
            Map<Integer, Integer> statuses = new TreeMap<>();
            try (LogCapture log = LogCapture.open()) {
                for (int i = only != null ? only : 0; i < (only != null ? only + 1 : count); i++) {
                    FuzzCases.Case c = new FuzzCases(new Random(seed * 1_000_003L + i)).next(apiPort, managementPort);
                    RawHttp.Response response = exchange(c, seed, i);
                    check(c, response, seed, i);
                    statuses.merge(response.status(), 1, Integer::sum);
                }
                // Nothing a client sends is the operator's problem: not even a WARN.
                assertThat(log.warningsAndErrors())
                        .as("logged while fuzzing; " + replay(seed, null))
                        .isEmpty();
            }
            // The spread shows the cases reach the routes (200s, route 4xx), not only the parser.
            System.out.printf(
                    "HttpFuzzTest: %d requests with seed %d in %d ms, statuses %s%n",
                    only != null ? 1 : count, seed, (System.nanoTime() - started) / 1_000_000, statuses);
        }
    }

    private static long seed() {
        String value = System.getProperty("kvasir.fuzz.seed");
        if (value == null || value.isBlank()) {
            return DEFAULT_SEED;
        }
        return value.equals("random") ? new Random().nextLong() : Long.parseLong(value);
    }

    private static String replay(long seed, Integer caseIndex) {
        return "replay with -Dkvasir.fuzz.seed=" + seed + (caseIndex == null ? "" : " -Dkvasir.fuzz.case=" + caseIndex);
    }

    private static RawHttp.Response exchange(FuzzCases.Case c, long seed, int i) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", c.port()), ANSWER_TIMEOUT_MILLIS);
            socket.setSoTimeout(ANSWER_TIMEOUT_MILLIS);
            try {
                socket.getOutputStream().write(c.bytes());
                socket.getOutputStream().flush();
                if (c.halfClose()) {
                    socket.shutdownOutput();
                }
            } catch (IOException e) {
                // The server may answer and close before reading it all (e.g. headers too large).
            }
            RawHttp.Response response = RawHttp.readResponse(socket.getInputStream());
            while (response.status() == 100) {
                response = RawHttp.readResponse(socket.getInputStream());
            }
            return response;
        } catch (SocketTimeoutException e) {
            throw new AssertionError(
                    "no answer within " + ANSWER_TIMEOUT_MILLIS + " ms to case " + i + " (" + replay(seed, i) + "): "
                            + c.description(),
                    e);
        }
    }

    private static void check(FuzzCases.Case c, RawHttp.Response response, long seed, int i) throws Exception {
        String context = "case " + i + " (" + replay(seed, i) + "): " + c.description() + "\n-> " + response;
        if (response.status() == -1) {
            assertThat(c.halfClose()).as("closed without an answer; " + context).isTrue();
            return;
        }
        int status = response.status();
        assertThat(status < 500 || DOCUMENTED_5XX.contains(status))
                .as("status " + status + "; " + context)
                .isTrue();
        assertThat(status).as(context).isBetween(200, 599);
        assertThat(status >= 300 && status < 400).as("a redirect; " + context).isFalse();
        if (status >= 400 && !c.description().startsWith("HEAD ")) {
            assertThat(response.header("Content-Type")).as(context).startsWith("application/json");
            JsonNode error = OpenAiJson.MAPPER.readTree(response.body()).get("error");
            assertThat(error).as(context).isNotNull();
            assertThat(error.path("message").isTextual()).as(context).isTrue();
            assertThat(error.has("type") && error.has("param") && error.has("code"))
                    .as(context)
                    .isTrue();
        }
        if (status == 503) {
            assertThat(response.header("Retry-After")).as(context).isNotNull();
        }
    }
}
