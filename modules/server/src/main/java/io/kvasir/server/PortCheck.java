package io.kvasir.server;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The ports {@code serve} is about to bind, checked before the node starts. Akka reports a port in
 * use, or a host that does not resolve, as a bind failure with a long stack trace after the actor
 * system is already up; here it is one line naming the flag (or config key) the user gave. Best
 * effort: a port free now may be taken before the node binds it, and the node's own bind still
 * decides.
 */
final class PortCheck {

    /**
     * One port the node binds.
     *
     * @param portName the flag or config key that set the port, for messages
     * @param hostName the flag or config key that set the host
     */
    record Endpoint(String portName, String hostName, String host, int port) {}

    private record Resolved(Endpoint endpoint, InetAddress address) {}

    private PortCheck() {}

    /**
     * The API port (gateways only), the management port (when enabled) and Akka remoting (TCP).
     * Akka's {@code <getHostAddress>}-style hosts are left out; an ephemeral port (0) stays in, for
     * its host.
     *
     * @param flags config keys set by a flag, mapped to that flag's name
     */
    static List<Endpoint> endpoints(Config c, Map<String, String> flags) {
        List<Endpoint> out = new ArrayList<>();
        if (c.getStringList("kvasir.node.roles").contains("gateway")) {
            add(out, c, flags, "kvasir.http.host", "kvasir.http.port");
        }
        if (c.getBoolean("kvasir.http.management.enabled")) {
            add(out, c, flags, "kvasir.http.management.host", "kvasir.http.management.port");
        }
        String transport = c.getString("akka.remote.artery.transport");
        if (transport.equals("tcp") || transport.equals("tls-tcp")) {
            // Artery binds bind.* when set, else the canonical address it advertises.
            String host = c.getString("akka.remote.artery.bind.hostname").isEmpty()
                    ? "akka.remote.artery.canonical.hostname"
                    : "akka.remote.artery.bind.hostname";
            String port = c.getString("akka.remote.artery.bind.port").isEmpty()
                    ? "akka.remote.artery.canonical.port"
                    : "akka.remote.artery.bind.port";
            add(out, c, flags, host, port);
        }
        return out;
    }

    private static void add(List<Endpoint> out, Config c, Map<String, String> flags, String hostKey, String portKey) {
        String host = c.getString(hostKey);
        int port = c.getInt(portKey);
        if (!host.startsWith("<")) {
            out.add(new Endpoint(
                    flags.getOrDefault(portKey, portKey), flags.getOrDefault(hostKey, hostKey), host, port));
        }
    }

    /** Throws {@link IllegalArgumentException} with a one-line reason for the first endpoint that cannot be bound. */
    static void check(List<Endpoint> endpoints) {
        List<Resolved> resolved = new ArrayList<>();
        for (Endpoint e : endpoints) {
            resolved.add(new Resolved(e, resolve(e)));
        }
        for (int i = 0; i < resolved.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (clash(resolved.get(i), resolved.get(j))) {
                    Endpoint e = resolved.get(i).endpoint();
                    throw new IllegalArgumentException(e.portName() + " " + e.port() + ": the same port as "
                            + resolved.get(j).endpoint().portName() + "; each role needs a port of its own");
                }
            }
        }
        for (Resolved r : resolved) {
            tryBind(r);
        }
    }

    private static InetAddress resolve(Endpoint e) {
        try {
            return InetAddress.getByName(e.host());
        } catch (UnknownHostException ex) {
            throw new IllegalArgumentException(
                    e.hostName() + " " + e.host() + ": no such host (give a name or address of this machine)");
        }
    }

    /**
     * Two ports collide when the numbers match (and are not 0, any free port) and the addresses
     * overlap: equal, or either the wildcard.
     */
    private static boolean clash(Resolved a, Resolved b) {
        return a.endpoint().port() != 0
                && a.endpoint().port() == b.endpoint().port()
                && (a.address().equals(b.address())
                        || a.address().isAnyLocalAddress()
                        || b.address().isAnyLocalAddress());
    }

    private static void tryBind(Resolved r) {
        Endpoint e = r.endpoint();
        String where = e.host() + ":" + e.port();
        // SO_REUSEADDR as the real servers set it: a port only in TIME_WAIT is not "in use".
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(r.address(), e.port()));
        } catch (BindException ex) {
            String why = String.valueOf(ex.getMessage());
            throw new IllegalArgumentException(e.portName() + " " + e.port() + ": "
                    + (why.contains("in use")
                            ? where + " is already in use"
                            : "cannot bind " + where + " (" + why + ")"));
        } catch (IOException | SecurityException ex) {
            // Not a verdict on the port: leave it to the node's own bind.
        }
    }
}
