package io.kvasir.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** In-process nodes on loopback with ephemeral ports, for the server's end-to-end tests. */
final class TestNodes {

    private TestNodes() {}

    /** Writes the tiny synthetic model (random weights) in F32, the cheapest to run on a busy CI machine. */
    static Path tinyModel(Path dir) {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny().withType(GgmlType.F32), file);
        return file;
    }

    /** A one-node cluster config with every role, ephemeral ports, and the given models block. */
    static Config oneNode(String modelsHocon, Map<String, Object> extra) {
        Map<String, Object> ports = new HashMap<>(extra);
        ports.put("kvasir.http.port", 0);
        ports.put("kvasir.http.management.port", 0);
        ports.put("akka.remote.artery.canonical.port", 0);
        // These tests check answers, not admission: on a loaded CI machine the default objectives
        // could refuse a test's own few requests (admission has tests of its own).
        ports.putIfAbsent("kvasir.admission.interactive.max-queue-wait", "60s");
        ports.putIfAbsent("kvasir.admission.interactive.ttft-objective", "0s");
        return ConfigFactory.parseMap(ports)
                .withFallback(ConfigFactory.parseString("kvasir.models {" + modelsHocon + "}"))
                .withFallback(ConfigFactory.load())
                .resolve();
    }
}
