package io.kvasir.fabric;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Settings under {@code kvasir} that no reference.conf defines: most likely typos
 * ({@code kvasir.modles}), which would otherwise leave the default in force without a word. They
 * are warned about, not refused: a section this node's modules do not have (an embedding
 * application without the HTTP edge) is harmless. Model blocks are checked strictly by
 * {@link ModelKeys} instead.
 */
public final class UnknownSettings {

    /**
     * Sections whose keys are the operator's own names (models, tenants, tiers), are checked
     * elsewhere (model-defaults), or hold Akka's settings (a dispatcher, a replicator).
     */
    private static final Set<String> OPEN = Set.of(
            "kvasir.models",
            "kvasir.model-defaults",
            "kvasir.tenants",
            "kvasir.tiers",
            "kvasir.http.dispatcher",
            "kvasir.responses.replicator");

    /** JVM system properties the code reads itself ({@code -Dkvasir.home=...}), not settings. */
    private static final Set<String> PROPERTIES =
            Set.of("kvasir.home", "kvasir.debug", "kvasir.engine", "kvasir.image");

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(UnknownSettings.class);

    private UnknownSettings() {}

    /** Logs {@link #warnings} against every reference.conf on the class path, one WARN line each. */
    public static void logWarnings(Config config) {
        Config reference = com.typesafe.config.ConfigFactory.defaultReference(UnknownSettings.class.getClassLoader());
        warnings(config, reference).forEach(w -> log.warn("{}: it is ignored", w));
    }

    /**
     * One line per setting in {@code config} under {@code kvasir} that {@code reference} lacks:
     * {@code unknown setting kvasir.modles (did you mean 'models'?)}.
     */
    public static List<String> warnings(Config config, Config reference) {
        List<String> out = new ArrayList<>();
        if (config.hasPath("kvasir") && reference.hasPath("kvasir")) {
            walk("kvasir", config.getObject("kvasir"), reference.getObject("kvasir"), out);
        }
        return out;
    }

    private static void walk(String path, ConfigObject given, ConfigObject known, List<String> out) {
        for (Map.Entry<String, ConfigValue> entry : given.entrySet()) {
            String key = entry.getKey();
            String full = path + "." + key;
            ConfigValue reference = known.get(key);
            if (reference == null) {
                if (!PROPERTIES.contains(full)) {
                    out.add("unknown setting " + full + SettingNames.suggestion(key, known.keySet()) + where(entry));
                }
            } else if (!OPEN.contains(full)
                    && entry.getValue().valueType() == ConfigValueType.OBJECT
                    && reference.valueType() == ConfigValueType.OBJECT) {
                walk(full, (ConfigObject) entry.getValue(), (ConfigObject) reference, out);
            }
        }
    }

    private static String where(Map.Entry<String, ConfigValue> entry) {
        var origin = entry.getValue().origin();
        return origin == null || origin.lineNumber() < 0 ? "" : " (" + origin.description() + ")";
    }
}
