package io.kvasir.server;

import io.kvasir.engine.synth.SyntheticModel;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The embedded default model: the synthetic {@code tiny} preset, generated on first use (a second
 * or so) into {@code <kvasir home>/.kvasir/models/}. It has random weights, so it shows the fabric
 * working end to end without a download; its text is meaningless, and everything serving it says so.
 */
final class DefaultModel {

    static final String FILE = "kvasir-tiny-synthetic.gguf";

    private DefaultModel() {}

    static Path ensure(PrintStream log) throws IOException {
        Path dir = Main.home().resolve(".kvasir").resolve("models");
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            Files.createDirectories(dir);
            log.println("kvasir: generating the synthetic default model " + file + " (random weights)");
            Path tmp = Files.createTempFile(dir, "tiny", ".tmp");
            try {
                SyntheticModel.write(SyntheticModel.Spec.tiny(), tmp);
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return file;
    }
}
