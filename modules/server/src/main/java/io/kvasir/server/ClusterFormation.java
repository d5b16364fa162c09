package io.kvasir.server;

import akka.actor.Address;
import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How a node joins its cluster: seed nodes, Cluster Bootstrap ({@code kvasir.bootstrap}), or itself.
 * {@link #configure} maps {@code kvasir.bootstrap} onto Akka's keys before the actor system exists;
 * {@link #start} starts the bootstrap once the management port (where peers probe) is bound.
 */
final class ClusterFormation {

    private ClusterFormation() {}

    static boolean bootstraps(Config config) {
        return config.getBoolean("kvasir.bootstrap.enabled")
                && config.getStringList("akka.cluster.seed-nodes").isEmpty();
    }

    /** The config a node starts with: unchanged unless it forms its cluster through bootstrap. */
    static Config configure(Config config) {
        checkSeedNodes(config);
        if (!bootstraps(config)) {
            return config;
        }
        if (!config.getBoolean("kvasir.http.management.enabled")) {
            throw new IllegalArgumentException("Cluster Bootstrap needs the management port "
                    + "(kvasir.http.management.enabled = on): peers probe it for /bootstrap/seed-nodes");
        }
        int managementPort = config.getInt("kvasir.http.management.port");
        if (managementPort == 0) {
            throw new IllegalArgumentException("Cluster Bootstrap needs a fixed management port "
                    + "(kvasir.http.management.port, --management-port): discovery names it to the peers");
        }
        String method = config.getString("kvasir.bootstrap.discovery-method");
        checkMethod(config, method);
        String service = config.getString("kvasir.bootstrap.service-name");
        Map<String, Object> akka = new HashMap<>();
        // Kvasir binds the management port itself; Akka Management reads these only to know which
        // discovered contact point is this node (the lowest one forms the cluster).
        akka.put("akka.management.http.hostname", config.getString("akka.remote.artery.canonical.hostname"));
        akka.put("akka.management.http.port", managementPort);
        String discovery = "akka.management.cluster.bootstrap.contact-point-discovery.";
        akka.put(discovery + "discovery-method", method);
        akka.put(discovery + "service-name", service);
        akka.put(discovery + "required-contact-point-nr", config.getInt("kvasir.bootstrap.required-contact-points"));
        if (method.equals("config")) {
            akka.put("akka.discovery.config.services.\"" + service + "\".endpoints", endpoints(config));
            // Local nodes share one host and differ by port: keep every port, not only our own.
            akka.put("akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port", false);
        }
        akka.put("kvasir.node.join-self", false);
        return ConfigFactory.parseMap(akka).withFallback(config).resolve();
    }

    /** Starts Cluster Bootstrap when the config asks for it; the management routes are bound by now. */
    static void start(ActorSystem<?> system) {
        if (bootstraps(system.settings().config())) {
            ClusterBootstrap.get(Adapter.toClassic(system)).start();
        }
    }

    private static List<Map<String, Object>> endpoints(Config config) {
        List<String> points = config.getStringList("kvasir.bootstrap.contact-points");
        if (points.isEmpty()) {
            throw new IllegalArgumentException("discovery-method = config needs kvasir.bootstrap.contact-points "
                    + "(--contact-points host:management-port,...)");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (String point : points) {
            HostPort p = HostPort.parse(point, "contact point", "host:management-port, e.g. 127.0.0.1:8558");
            out.add(Map.of("host", p.host(), "port", p.port()));
        }
        return out;
    }

    /**
     * A method Akka Discovery can load ({@code akka.discovery.<method>.class}), checked before the
     * actor system starts: Akka would refuse it only once the node is up, in its own words.
     */
    private static void checkMethod(Config config, String method) {
        List<String> known = methods(config);
        if (!known.contains(method)) {
            throw new IllegalArgumentException("unknown discovery method '" + method
                    + "' (--discovery, kvasir.bootstrap.discovery-method); use one of: " + String.join(", ", known));
        }
    }

    /** The discovery methods on the classpath: config, kubernetes-api, and Akka's own akka-dns and aggregate. */
    static List<String> methods(Config config) {
        Config discovery = config.withFallback(ConfigFactory.defaultReference()).getConfig("akka.discovery");
        return discovery.root().keySet().stream()
                .filter(m -> discovery.hasPath(ConfigUtil.joinPath(m, "class")))
                .sorted()
                .toList();
    }

    /** Seed nodes must be Akka addresses with a host and port; Akka's own error for one that is not has no message. */
    private static void checkSeedNodes(Config config) {
        for (String seed : config.getStringList("akka.cluster.seed-nodes")) {
            boolean ok;
            try {
                Address a = AddressFromURIString.parse(seed);
                ok = a.host().isDefined() && a.port().isDefined();
            } catch (Exception e) {
                ok = false;
            }
            if (!ok) {
                throw new IllegalArgumentException("seed node '" + seed + "' (akka.cluster.seed-nodes) is not an "
                        + "address like akka://kvasir@127.0.0.1:25520 (--seed-nodes takes host:port)");
            }
        }
    }
}
