package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * What {@code serve} refuses before a node starts, in one line naming the flag: a port in use, one
 * port for two roles, a host that does not resolve, malformed seed nodes, an unknown discovery method.
 */
@Timeout(60) // a check that let the node start would block in awaitTermination
class ServeChecksTest {

    private record Run(int code, String err) {}

    /** {@code serve --simulate} on these ports (0: any free one) with more flags. */
    private static Run serve(int api, int management, int remote, String... more) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(
                "serve",
                "--simulate",
                "--port",
                Integer.toString(api),
                "--management-port",
                Integer.toString(management),
                "--remote-port",
                Integer.toString(remote)));
        args.addAll(java.util.List.of(more));
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args.toArray(String[]::new));
        return new Run(code, err.toString());
    }

    private static void assertOneLine(Run run, String expected) {
        assertThat(run.code()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("kvasir: " + expected + System.lineSeparator());
    }

    @Test
    void anApiPortInUseIsNamedByItsFlag() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            assertOneLine(serve(port, 0, 0), "--port " + port + ": 127.0.0.1:" + port + " is already in use");
        }
    }

    @Test
    void aRemotingPortInUseIsNamedByItsFlag() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            assertOneLine(serve(0, 0, port), "--remote-port " + port + ": 127.0.0.1:" + port + " is already in use");
        }
    }

    @Test
    void oneNumberForTwoRolesIsRefusedBeforeAnythingBinds() {
        assertOneLine(
                serve(8381, 8381, 0),
                "--management-port 8381: the same port as --port; each role needs a port of its own");
    }

    @Test
    void aPortFromTheConfigIsNamedByItsKey() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            Config c = config("--simulate", "--port", "0", "--remote-port", "0")
                    .withValue("kvasir.http.management.port", com.typesafe.config.ConfigValueFactory.fromAnyRef(port));
            assertThatThrownBy(() -> PortCheck.check(PortCheck.endpoints(c, java.util.Map.of())))
                    .hasMessage("kvasir.http.management.port " + port + ": 127.0.0.1:" + port + " is already in use");
        }
    }

    @Test
    void anUnresolvableHostIsNamedByItsFlag() {
        assertOneLine(
                serve(0, 0, 0, "--host", "no-such-host.invalid"),
                "--host no-such-host.invalid: no such host (give a name or address of this machine)");
    }

    @Test
    void malformedSeedNodesSayWhatIsExpected() {
        assertOneLine(
                serve(0, 0, 0, "--seed-nodes", "garbage"),
                "--seed-nodes 'garbage' is not host:remote-port, e.g. 127.0.0.1:25520");
        assertOneLine(
                serve(0, 0, 0, "--seed-nodes", "127.0.0.1:abc"),
                "--seed-nodes '127.0.0.1:abc' has no numeric port; expected host:remote-port, e.g. 127.0.0.1:25520");
        assertThatThrownBy(() -> config("--simulate", "--seed-nodes", "akka://kvasir@127.0.0.1:25520"))
                .hasMessageContaining("is not host:remote-port");
    }

    @Test
    void aMalformedSeedNodeInTheConfigIsNamedBeforeAkkaSeesIt() throws Exception {
        Config c = config("--simulate")
                .withValue(
                        "akka.cluster.seed-nodes",
                        com.typesafe.config.ConfigValueFactory.fromIterable(java.util.List.of("akka://kvasir@nohost")));
        assertThatThrownBy(() -> ClusterFormation.configure(c))
                .hasMessageStartingWith("seed node 'akka://kvasir@nohost' (akka.cluster.seed-nodes) is not an address");
    }

    @Test
    void anUnknownDiscoveryMethodListsTheOnesThatExist() throws Exception {
        Config c = config("--simulate", "--discovery", "foo");
        assertThat(ClusterFormation.methods(c)).contains("config", "kubernetes-api");
        assertThatThrownBy(() -> ClusterFormation.configure(c))
                .hasMessageStartingWith("unknown discovery method 'foo'")
                .hasMessageContaining("config")
                .hasMessageContaining("kubernetes-api");
    }

    private static Config config(String... args) throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs(args);
        return serve.buildConfig();
    }
}
