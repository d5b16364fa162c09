package io.kvasir.engine;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reference data from the read-only {@code ../shared} folder beside the checkout (test models,
 * tokenizer vectors). Tests that need it skip cleanly when it is absent.
 */
public final class SharedData {

    private SharedData() {
    }

    /** The shared folder, from -Dkvasir.shared.dir (set by surefire), else ../shared. */
    public static Path dir() {
        String prop = System.getProperty("kvasir.shared.dir");
        return Path.of(prop != null ? prop : "../shared").toAbsolutePath().normalize();
    }

    /** A file under the shared folder; skips the calling test when it is not there. */
    public static Path require(String relative) {
        Path p = dir().resolve(relative);
        assumeTrue(Files.isReadable(p), () -> "shared test data absent: " + p);
        return p;
    }
}
