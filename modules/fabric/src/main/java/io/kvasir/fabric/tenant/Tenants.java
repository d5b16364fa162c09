package io.kvasir.fabric.tenant;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The configured tenants, read as a whole from {@code kvasir.tenants}: either every entry is valid
 * and the set replaces the running one, or the first problem is reported with the line it is on and
 * nothing changes. API keys are configured only as SHA-256 digests ({@code "sha256:<64 hex
 * digits>"}): a config file, a backup of it or a reload body never holds a key that works.
 */
public final class Tenants {

    /** No tenants: the API behaves as it does without a tenant policy. */
    public static final Tenants NONE = new Tenants(Map.of());

    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Set<String> FIELDS = Set.of(
            "api-keys",
            "models",
            "max-concurrent",
            "tokens-per-minute",
            "priority",
            "workload",
            "shared-prefix-cache",
            "cache-group",
            "region",
            "pinned");

    private final Map<String, Tenant> byName;
    private final Map<String, Tenant> byKeyHash;

    private Tenants(Map<String, Tenant> byName) {
        this.byName = Map.copyOf(byName);
        Map<String, Tenant> keys = new HashMap<>();
        byName.values().forEach(t -> t.keyHashes().forEach(h -> keys.put(h, t)));
        this.byKeyHash = Map.copyOf(keys);
    }

    /**
     * Reads a {@code tenants} block: one object per tenant name.
     *
     * @throws InvalidTenants naming the first problem and where it is (file and line when known)
     */
    public static Tenants from(Config tenants) {
        Map<String, Tenant> byName = new LinkedHashMap<>();
        Map<String, String> keyOwner = new HashMap<>();
        for (Map.Entry<String, ConfigValue> entry : tenants.root().entrySet()) {
            String name = entry.getKey();
            ConfigValue value = entry.getValue();
            if (!NAME.matcher(name).matches()) {
                throw new InvalidTenants(
                        value,
                        "tenant name '" + name
                                + "' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit");
            }
            if (value.valueType() != ConfigValueType.OBJECT) {
                throw new InvalidTenants(value, "tenant '" + name + "' must be an object of settings");
            }
            Tenant tenant = tenant(name, tenants.getConfig("\"" + name + "\""));
            for (String hash : tenant.keyHashes()) {
                String other = keyOwner.putIfAbsent(hash, name);
                if (other != null) {
                    throw new InvalidTenants(
                            value, "an API key of tenant '" + name + "' is also tenant '" + other + "''s");
                }
            }
            byName.put(name, tenant);
        }
        return new Tenants(byName);
    }

    private static Tenant tenant(String name, Config c) {
        for (Map.Entry<String, ConfigValue> field : c.root().entrySet()) {
            if (!FIELDS.contains(field.getKey())) {
                throw new InvalidTenants(
                        field.getValue(),
                        "tenant '" + name + "' has an unknown setting '" + field.getKey() + "' (known: "
                                + String.join(", ", FIELDS.stream().sorted().toList()) + ")");
            }
        }
        try {
            Set<String> hashes = new HashSet<>();
            if (c.hasPath("api-keys")) {
                for (ConfigValue key : c.getList("api-keys")) {
                    String text = String.valueOf(key.unwrapped()).toLowerCase(Locale.ROOT);
                    if (!DIGEST.matcher(text).matches()) {
                        throw new InvalidTenants(
                                key,
                                "tenant '" + name
                                        + "': api-keys holds SHA-256 digests written 'sha256:<64 hex digits>',"
                                        + " never plain keys (make one with: printf %s KEY | sha256sum)");
                    }
                    hashes.add(text.substring("sha256:".length()));
                }
            }
            Set<String> models = c.hasPath("models") ? Set.copyOf(c.getStringList("models")) : Set.of();
            int maxConcurrent = c.hasPath("max-concurrent") ? c.getInt("max-concurrent") : 0;
            long tpm = c.hasPath("tokens-per-minute") ? c.getLong("tokens-per-minute") : 0;
            if (maxConcurrent < 0 || tpm < 0) {
                throw new InvalidTenants(
                        c.root(), "tenant '" + name + "': max-concurrent and tokens-per-minute must not be negative");
            }
            int priority = c.hasPath("priority") ? c.getInt("priority") : 0;
            Workload workload = Workload.INTERACTIVE;
            if (c.hasPath("workload")) {
                workload = switch (c.getString("workload")) {
                    case "interactive" -> Workload.INTERACTIVE;
                    case "batch" -> Workload.BATCH;
                    default ->
                        throw new InvalidTenants(
                                c.getValue("workload"),
                                "tenant '" + name + "': workload must be 'interactive' or 'batch'");
                };
            }
            boolean shared = c.hasPath("shared-prefix-cache") && c.getBoolean("shared-prefix-cache");
            String group = null;
            if (shared) {
                group = c.hasPath("cache-group") ? c.getString("cache-group") : "shared";
                if (!NAME.matcher(group).matches()) {
                    throw new InvalidTenants(
                            c.getValue("cache-group"),
                            "tenant '" + name + "': cache-group '" + group + "' is not a name");
                }
            } else if (c.hasPath("cache-group")) {
                throw new InvalidTenants(
                        c.getValue("cache-group"),
                        "tenant '" + name + "': cache-group needs shared-prefix-cache = on (a tenant's cache is its own"
                                + " otherwise)");
            }
            String region = c.hasPath("region") ? c.getString("region") : null;
            boolean pinned = c.hasPath("pinned") && c.getBoolean("pinned");
            if (pinned && region == null) {
                throw new InvalidTenants(
                        c.getValue("pinned"), "tenant '" + name + "': pinned = on needs the region it is pinned to");
            }
            return new Tenant(name, hashes, models, maxConcurrent, tpm, priority, workload, group, region, pinned);
        } catch (ConfigException e) {
            throw new InvalidTenants("tenant '" + name + "': " + e.getMessage());
        }
    }

    public boolean isEmpty() {
        return byName.isEmpty();
    }

    public Optional<Tenant> named(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(byName.get(name));
    }

    /** The tenant whose key this is, compared by digest. */
    public Optional<Tenant> byKey(String key) {
        return Optional.ofNullable(byKeyHash.get(sha256(key)));
    }

    public List<Tenant> all() {
        return List.copyOf(byName.values());
    }

    static String sha256(String key) {
        try {
            return java.util.HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** A tenants block that cannot be used; the message names the problem and its line. */
    public static final class InvalidTenants extends IllegalArgumentException {
        InvalidTenants(ConfigValue at, String message) {
            super(where(at) + message);
        }

        InvalidTenants(String message) {
            super(message);
        }

        private static String where(ConfigValue at) {
            var origin = at.origin();
            // The origin's description names the file (or "tenants" for a reload) and the line.
            return origin == null || origin.lineNumber() < 0 ? "" : origin.description() + ": ";
        }
    }
}
