package io.kvasir.server;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.fabric.Kvasir;
import io.kvasir.fabric.KvasirFabric;
import io.kvasir.fabric.LocalEngines;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.KvasirHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a Kvasir node: the fabric in an actor system, and the HTTP edge when the node has the
 * gateway role. With no flags it is a one-node cluster with every role serving the synthetic
 * default model.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run a Kvasir node (default: a one-node cluster with every role).")
final class ServeCommand implements Callable<Integer> {

    @Option(names = "--model", description = "Serve this GGUF file (id: its file name without .gguf)")
    Path model;

    @Option(names = "--port", description = "OpenAI API port (default 8080)")
    Integer port;

    @Option(names = "--host", description = "OpenAI API interface (default 127.0.0.1)")
    String host;

    @Option(names = "--management-port", description = "Management API port, bound to 127.0.0.1 (default 8558)")
    Integer managementPort;

    @Option(names = "--config", description = "A HOCON file layered over application.conf")
    Path config;

    @Option(names = "--roles", split = ",", description = "Cluster roles: gateway, prefill, decode (default: all)")
    List<String> roles;

    @Option(names = "--remote-port", description = "Akka remoting port (default 25520)")
    Integer remotePort;

    @Option(names = "--seed-nodes", split = ",", description = "host:port of seed nodes to join (default: join self)")
    List<String> seedNodes;

    @Option(names = "--api-key", description = "Require this Bearer key on /v1 (repeatable)")
    List<String> apiKeys;

    @Option(names = "--threads", description = "Compute threads per replica (default: one per core)")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        Config conf = buildConfig();
        ActorSystem<Void> system = ActorSystem.create(
                akka.actor.typed.javadsl.Behaviors.empty(), "kvasir", conf);
        EngineOptions options = EngineOptions.defaults().withThreads(threads == null ? 0 : threads);
        KvasirFabric fabric = Kvasir.start(system, LocalEngines.factory(options));
        for (var m : fabric.models()) {
            System.out.println("kvasir: model " + m.id() + (m.synthetic()
                    ? " (synthetic: random weights, its output is meaningless)" : ""));
        }
        if (conf.getStringList("kvasir.node.roles").contains("gateway")) {
            KvasirHttp.Bindings b = KvasirHttp.start(system, fabric, HttpSettings.from(system))
                    .toCompletableFuture().join();
            System.out.println("kvasir: OpenAI API   http://" + hostPort(b.apiAddress()) + "/v1");
            b.managementAddress().ifPresent(a ->
                    System.out.println("kvasir: management   http://" + hostPort(a)));
        } else {
            System.out.println("kvasir: worker node with roles " + conf.getStringList("kvasir.node.roles"));
        }
        System.out.flush();
        system.getWhenTerminated().toCompletableFuture().join();
        return 0;
    }

    private static String hostPort(java.net.InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** Command-line flags over --config over the project's application.conf over reference.conf. */
    Config buildConfig() throws IOException {
        Map<String, Object> flags = new HashMap<>();
        if (port != null) {
            flags.put("kvasir.http.port", port);
        }
        if (host != null) {
            flags.put("kvasir.http.host", host);
        }
        if (managementPort != null) {
            flags.put("kvasir.http.management.port", managementPort);
        }
        if (roles != null) {
            flags.put("kvasir.node.roles", roles);
        }
        if (remotePort != null) {
            flags.put("akka.remote.artery.canonical.port", remotePort);
        }
        if (seedNodes != null) {
            List<String> seeds = new ArrayList<>();
            for (String s : seedNodes) {
                seeds.add("akka://kvasir@" + s);
            }
            flags.put("akka.cluster.seed-nodes", seeds);
        }
        if (apiKeys != null) {
            flags.put("kvasir.http.api-keys", apiKeys);
        }
        Config layered = ConfigFactory.parseMap(flags);
        if (config != null) {
            if (!Files.isReadable(config)) {
                throw new IllegalArgumentException("cannot read --config " + config);
            }
            layered = layered.withFallback(ConfigFactory.parseFile(config.toFile()));
        }
        Path app = home().resolve("application.conf");
        if (Files.isReadable(app)) {
            layered = layered.withFallback(ConfigFactory.parseFile(app.toFile()));
        }
        Config base = ConfigFactory.systemProperties().withFallback(layered).withFallback(ConfigFactory.defaultReference());
        Config withModels = withModel(base);
        return ConfigFactory.systemProperties().withFallback(withModels).resolve();
    }

    /** --model adds that file as a model; with no model anywhere, the synthetic default is served. */
    private Config withModel(Config c) throws IOException {
        Path file = model;
        boolean synthetic = false;
        if (file == null) {
            if (!c.getObject("kvasir.models").isEmpty()) {
                return c;
            }
            file = DefaultModel.ensure(System.out);
            synthetic = true;
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("cannot read model file " + file);
        }
        String id = file.getFileName().toString().replaceFirst("\\.gguf$", "");
        int context;
        try (GgufFile gguf = GgufFile.open(file)) {
            String arch = gguf.string("general.architecture", "llama");
            context = (int) Math.min(Integer.MAX_VALUE, gguf.integer(arch + ".context_length", 2048));
            synthetic |= gguf.bool("kvasir.synthetic", false);
        }
        int maxLen = Math.min(context, c.getInt("kvasir.model-defaults.max-model-length"));
        Config m = ConfigFactory.empty()
                .withValue("path", ConfigValueFactory.fromAnyRef(file.toAbsolutePath().toString()))
                .withValue("synthetic", ConfigValueFactory.fromAnyRef(synthetic))
                .withValue("max-model-length", ConfigValueFactory.fromAnyRef(maxLen));
        return c.withValue("kvasir.models", ConfigFactory.empty()
                .withValue("\"" + id + "\"", m.root()).root());
    }

    private static Path home() {
        String prop = System.getProperty("kvasir.home");
        return Path.of(prop != null ? prop : System.getProperty("user.dir"));
    }
}
