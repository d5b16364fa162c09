package io.kvasir.fabric;

import io.kvasir.engine.gguf.GgufException;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.ModelConfig;
import io.kvasir.engine.model.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What {@link LocalEngines} checks of a model when the node starts. Before it, a model block with
 * no {@code path}, or a path to a directory, a file that is not GGUF or a model of an architecture
 * the engine does not run, let the node start and then fail every load, retried with backoff and
 * never ready, where the CLI refuses the same file at once.
 */
final class ModelFileCheck {

    private ModelFileCheck() {}

    /**
     * @param readFile whether to read the file's header too (on nodes that host replicas); a file
     *                 that is not there, or a hub model, is left to the loads (it may come)
     * @throws IllegalArgumentException naming the model, its path and what is wrong
     */
    static void check(ModelSettings model, boolean readFile) {
        if (model.simulated()) {
            return;
        }
        if (model.path().toString().isBlank()) {
            throw new IllegalArgumentException(
                    "model " + model.id() + ": 'path' is required (a GGUF file, or" + " hf://OWNER/REPO:QUANT)");
        }
        Path file = model.path();
        if (!readFile || ModelLocator.isHub(file.toString()) || !Files.exists(file)) {
            return;
        }
        // The header alone, as the CLI reads it: the weights are mapped but not touched.
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelConfig.read(gguf);
        } catch (GgufException | ModelLoadException e) {
            throw new IllegalArgumentException(
                    "model " + model.id() + ": cannot serve " + file + ": " + e.getMessage(), e);
        }
    }
}
