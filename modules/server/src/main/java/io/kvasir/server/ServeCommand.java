package io.kvasir.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufSplits;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
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
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Run a Kvasir node (default: a one-node cluster with every role).")
final class ServeCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            description = "Serve this GGUF file or hub model (hf://OWNER/REPO/FILE.gguf, hf://OWNER/REPO:QUANT),"
                    + " fetched into KVASIR_CACHE (id: its file name without .gguf)")
    String model;

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

    @Option(
            names = "--region",
            description = "This node's region (its Akka data center): turns stay in their region (default: one region)")
    String region;

    @Option(names = "--remote-port", description = "Akka remoting port (default 25520)")
    Integer remotePort;

    @Option(names = "--seed-nodes", split = ",", description = "host:port of seed nodes to join (default: join self)")
    List<String> seedNodes;

    @Option(
            names = "--discovery",
            description = "Form the cluster through Cluster Bootstrap, finding peers by: config "
                    + "(--contact-points) or kubernetes-api (default: no bootstrap)")
    String discovery;

    @Option(
            names = "--contact-points",
            split = ",",
            description = "host:management-port of the nodes that form the cluster (implies --discovery config)")
    List<String> contactPoints;

    @Option(
            names = "--required-contact-points",
            description = "Contact points that must answer before a new cluster is formed (default 2)")
    Integer requiredContactPoints;

    @Option(names = "--decode-replicas", description = "Decode replicas per model (default 1)")
    Integer decodeReplicas;

    @Option(
            names = "--prefill-replicas",
            description = "Prefill replicas per model (default 0: prefill where decoding)")
    Integer prefillReplicas;

    @Option(
            names = "--kv-precision",
            description = "KV cache precision of every model: ${COMPLETION-CANDIDATES} " + "(default F16)")
    KvPrecision kvPrecision;

    @Option(
            names = "--max-batch-tokens",
            description = "Token budget of one engine step (default 256): lower keeps "
                    + "inter-token latency steady while long prompts prefill")
    Integer maxBatchTokens;

    @Option(
            names = "--routing-policy",
            description = "Where new sessions go: cache-aware (default), least-loaded " + "or round-robin")
    String routingPolicy;

    @Option(names = "--api-key", description = "Require this Bearer key on /v1 (repeatable)")
    List<String> apiKeys;

    @Option(names = "--threads", description = "Compute threads per replica (default: one per core)")
    Integer threads;

    @Option(
            names = "--simulate",
            arity = "0..1",
            fallbackValue = "",
            description = "Serve a SIMULATED engine (model id 'simulated'): tokens paced by a timing model, "
                    + "no inference. Optional FILE: JSON from `kvasir bench engine --json` to calibrate it.")
    String simulate;

    @Override
    public Integer call() throws Exception {
        Config conf = buildConfig();
        PortCheck.check(PortCheck.endpoints(conf, flagsGiven()));
        EngineOptions options = EngineOptions.defaults()
                .withThreads(threads == null ? 0 : threads)
                .withDeterminism(io.kvasir.engine.Determinism.parse(conf.getString("kvasir.node.deterministic")));
        try (KvasirNode node = KvasirNode.start(conf, LocalEngines.factory(options, timing()))) {
            for (var m : node.fabric().models()) {
                String note = m.simulated()
                        ? " (SIMULATED engine: timing model only, no inference)"
                        : m.synthetic() ? " (synthetic: random weights, its output is meaningless)" : "";
                System.out.println("kvasir: model " + m.id() + note);
            }
            node.apiAddress()
                    .ifPresentOrElse(
                            a -> System.out.println("kvasir: OpenAI API   http://" + hostPort(a) + "/v1"),
                            () -> System.out.println(
                                    "kvasir: worker node with roles " + conf.getStringList("kvasir.node.roles")));
            node.managementAddress().ifPresent(a -> {
                System.out.println("kvasir: management   http://" + hostPort(a));
                // Shown once, here: a generated token exists nowhere else. A configured one is the operator's own.
                System.out.println("kvasir: management token: "
                        + (node.managementAccess().tokenGenerated()
                                ? node.managementAccess().token()
                                        + " (generated; set kvasir.http.management.token to fix one)"
                                : "as configured in kvasir.http.management.token"));
            });
            System.out.flush();
            node.awaitTermination();
        }
        return 0;
    }

    /** The config keys of the address flags given, by flag: a port error names what the user typed. */
    Map<String, String> flagsGiven() {
        Map<String, String> given = new HashMap<>();
        if (port != null) {
            given.put("kvasir.http.port", "--port");
        }
        if (host != null) {
            given.put("kvasir.http.host", "--host");
        }
        if (managementPort != null) {
            given.put("kvasir.http.management.port", "--management-port");
        }
        if (remotePort != null) {
            given.put("akka.remote.artery.canonical.port", "--remote-port");
        }
        return given;
    }

    private TimingModel timing() throws IOException {
        if (simulate == null || simulate.isEmpty()) {
            return TimingModel.defaults();
        }
        return TimingModel.fromBenchJson(Files.readString(Path.of(simulate)));
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
        if (region != null) {
            if (!region.matches("[A-Za-z0-9][A-Za-z0-9_-]{0,63}")) {
                throw new IllegalArgumentException(
                        "--region must be a name of letters, digits, '_' or '-', got '" + region + "'");
            }
            flags.put("akka.cluster.multi-data-center.self-data-center", region);
        }
        if (seedNodes != null) {
            List<String> seeds = new ArrayList<>();
            for (String s : seedNodes) {
                seeds.add(HostPort.parse(s, "--seed-nodes", "host:remote-port, e.g. 127.0.0.1:25520")
                        .akkaAddress());
            }
            flags.put("akka.cluster.seed-nodes", seeds);
        }
        if (discovery != null || contactPoints != null) {
            flags.put("kvasir.bootstrap.enabled", true);
            flags.put("kvasir.bootstrap.discovery-method", discovery != null ? discovery : "config");
        }
        if (contactPoints != null) {
            flags.put("kvasir.bootstrap.contact-points", contactPoints);
        }
        if (requiredContactPoints != null) {
            flags.put("kvasir.bootstrap.required-contact-points", requiredContactPoints);
        }
        if (decodeReplicas != null) {
            flags.put("kvasir.model-defaults.pools.decode", decodeReplicas);
        }
        if (prefillReplicas != null) {
            flags.put("kvasir.model-defaults.pools.prefill", prefillReplicas);
        }
        if (kvPrecision != null) {
            flags.put("kvasir.model-defaults.kv-precision", kvPrecision.name());
        }
        if (maxBatchTokens != null) {
            flags.put("kvasir.model-defaults.max-batch-tokens", maxBatchTokens);
        }
        if (routingPolicy != null) {
            // Checked here so a typo is a clear error before anything starts.
            flags.put(
                    "kvasir.routing.policy",
                    io.kvasir.fabric.routing.RoutingSettings.policy(routingPolicy)
                            .name()
                            .toLowerCase(java.util.Locale.ROOT)
                            .replace('_', '-'));
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
        Path app = Main.home().resolve("application.conf");
        if (Files.isReadable(app)) {
            layered = layered.withFallback(ConfigFactory.parseFile(app.toFile()));
        }
        Config base = ConfigFactory.systemProperties()
                .withFallback(layered)
                .withFallback(ConfigFactory.defaultReferenceUnresolved());
        Config withModels = withModel(base);
        // withModel replaces kvasir.models as a whole, so -D overrides of a model's keys are laid on top again.
        return ConfigFactory.systemProperties().withFallback(withModels).resolve();
    }

    /** The file name without {@code .gguf}, and for a split model without {@code -00001-of-0000N}. */
    static String modelId(Path file) {
        String name = file.getFileName().toString();
        GgufSplits.Name split = GgufSplits.parse(name);
        return split != null ? split.prefix() : name.replaceFirst("\\.gguf$", "");
    }

    /**
     * Configured models whose {@code path} is {@code "embedded"} are served from the synthetic default
     * model (random weights), so an example config runs on a fresh machine with no model file.
     */
    private static Config withEmbedded(Config c) throws IOException {
        Config out = c;
        for (String id : c.getObject("kvasir.models").keySet()) {
            String key = "kvasir.models.\"" + id + "\"";
            if (c.hasPath(key + ".path") && "embedded".equals(c.getString(key + ".path"))) {
                out = out.withValue(
                                key + ".path",
                                ConfigValueFactory.fromAnyRef(DefaultModel.ensure(System.out)
                                        .toAbsolutePath()
                                        .toString()))
                        .withValue(key + ".synthetic", ConfigValueFactory.fromAnyRef(true));
            }
        }
        return out;
    }

    /** --model adds that file as a model; with no model anywhere, the synthetic default is served. */
    private Config withModel(Config c) throws IOException {
        if (simulate != null) {
            Config sim = ConfigFactory.empty().withValue("simulated", ConfigValueFactory.fromAnyRef(true));
            return c.withValue(
                    "kvasir.models",
                    ConfigFactory.empty().withValue("simulated", sim.root()).root());
        }
        // A hub model is fetched here, before the node starts, so its metadata can size the model.
        Path file = model == null ? null : ModelLocator.resolve(model);
        boolean synthetic = false;
        if (file == null) {
            if (!c.getObject("kvasir.models").isEmpty()) {
                return withEmbedded(c);
            }
            file = DefaultModel.ensure(System.out);
            synthetic = true;
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException("cannot read model file " + file);
        }
        String id = modelId(file);
        int context;
        try (GgufFile gguf = GgufFile.open(file)) {
            String arch = gguf.string("general.architecture", "llama");
            context = (int) Math.min(Integer.MAX_VALUE, gguf.integer(arch + ".context_length", 2048));
            synthetic |= gguf.bool("kvasir.synthetic", false);
        }
        int maxLen = Math.min(context, c.getInt("kvasir.model-defaults.max-model-length"));
        Config m = ConfigFactory.empty()
                .withValue(
                        "path",
                        ConfigValueFactory.fromAnyRef(file.toAbsolutePath().toString()))
                .withValue("synthetic", ConfigValueFactory.fromAnyRef(synthetic))
                .withValue("max-model-length", ConfigValueFactory.fromAnyRef(maxLen));
        return c.withValue(
                "kvasir.models",
                ConfigFactory.empty().withValue("\"" + id + "\"", m.root()).root());
    }
}
