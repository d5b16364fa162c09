package io.kvasir.fabric.tenant;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import io.kvasir.fabric.CborSerializable;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenant policy in force on this node, replaceable at runtime. A reload is parsed and checked
 * as a whole where it is submitted, then published to every node's gateway on a pub-sub topic, so
 * the whole cluster switches within a message's flight; a newer version (submission time, then
 * node) wins over an older one arriving late. Requests already admitted keep the permits they
 * hold: a reload never drops a stream.
 */
public final class TenantPolicy {

    private static final Logger log = LoggerFactory.getLogger(TenantPolicy.class);

    /** A policy as it travels: its HOCON text, already validated where it was submitted. */
    public record Published(long version, String node, String hocon) implements CborSerializable {}

    private record Current(Tenants tenants, long version, String node) {}

    private final AtomicReference<Current> current;
    private volatile ActorRef<Topic.Command<Published>> topic;

    public TenantPolicy(Tenants initial) {
        this.current = new AtomicReference<>(new Current(initial, 0, ""));
    }

    public Tenants tenants() {
        return current.get().tenants();
    }

    /**
     * Parses {@code hocon} (a block of tenants, as under {@code kvasir.tenants}), puts it in force
     * here and sends it to the other nodes.
     *
     * @throws Tenants.InvalidTenants naming the first problem and its line; the policy in force stays
     */
    public Tenants reload(String hocon, String node) {
        Tenants parsed = parse(hocon);
        // Later than anything installed here, even two reloads within one millisecond.
        long version = Math.max(System.currentTimeMillis(), current.get().version() + 1);
        install(parsed, version, node);
        ActorRef<Topic.Command<Published>> t = topic;
        if (t != null) {
            t.tell(Topic.publish(new Published(version, node, render(hocon))));
        }
        return parsed;
    }

    /**
     * Parses a tenants block from text, with line numbers in its errors: {@code kvasir.tenants {...}},
     * {@code tenants {...}} or the tenants themselves.
     */
    public static Tenants parse(String hocon) {
        Config config;
        try {
            config = ConfigFactory.parseString(
                    hocon, ConfigParseOptions.defaults().setOriginDescription("tenants"));
        } catch (ConfigException e) {
            throw new Tenants.InvalidTenants(e.getMessage());
        }
        if (config.root().isEmpty()) {
            // An empty body is a mistake far more often than a wish (curl -d @missing-file sends one),
            // and taking it as "no tenants" would open an API that tenants' keys were guarding.
            throw new Tenants.InvalidTenants(
                    "the body holds no tenants; to remove every tenant, send an explicit empty block: {\"tenants\": {}}");
        }
        // The block as it appears in a config file (kvasir.tenants or tenants), or bare.
        for (String path : new String[] {"kvasir.tenants", "tenants"}) {
            String top = path.substring(0, path.indexOf('.') < 0 ? path.length() : path.indexOf('.'));
            if (config.root().size() == 1 && config.root().containsKey(top) && config.hasPath(path)) {
                return Tenants.from(config.getConfig(path));
            }
        }
        return Tenants.from(config);
    }

    private static String render(String hocon) {
        return ConfigFactory.parseString(hocon).root().render(ConfigRenderOptions.concise());
    }

    private boolean install(Tenants tenants, long version, String node) {
        while (true) {
            Current now = current.get();
            boolean newer = version > now.version() || version == now.version() && node.compareTo(now.node()) > 0;
            if (!newer) {
                return false;
            }
            if (current.compareAndSet(now, new Current(tenants, version, node))) {
                return true;
            }
        }
    }

    /** The node's subscriber: installs what other nodes publish. */
    public Behavior<Published> behavior(ActorRef<Topic.Command<Published>> topic) {
        this.topic = topic;
        return Behaviors.setup(ctx -> {
            topic.tell(Topic.subscribe(ctx.getSelf()));
            return Behaviors.receiveMessage(published -> {
                try {
                    if (install(parse(published.hocon()), published.version(), published.node())) {
                        log.info("Tenant policy from {} is in force", published.node());
                    }
                } catch (RuntimeException e) {
                    log.warn("Ignored a tenant policy from {}: {}", published.node(), e.getMessage());
                }
                return Behaviors.same();
            });
        });
    }
}
