package io.kvasir.engine;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reference data from the read-only {@code ../shared} folder beside the checkout (test models,
 * tokenizer vectors, llama.cpp reference outputs), and the one rule for its absence, used by the
 * tests of every module (through this module's test jar):
 *
 * <ul>
 *   <li>on a developer's machine a missing file skips the test, with the path in the reason, so a
 *       checkout without the data still builds;</li>
 *   <li>under CI ({@code CI=true} in the environment) a missing file fails the test, naming the
 *       path: CI always has the data beside it, and a test that silently skipped there would pass
 *       without ever having run.</li>
 * </ul>
 */
public final class SharedData {

    private SharedData() {}

    /** The shared folder, from -Dkvasir.shared.dir (set by surefire), else ../shared. */
    public static Path dir() {
        String prop = System.getProperty("kvasir.shared.dir");
        return Path.of(prop != null ? prop : "../shared").toAbsolutePath().normalize();
    }

    /** A file under the shared folder; when it is missing, skips the calling test, or fails it under CI. */
    public static Path require(String relative) {
        return require(dir().resolve(relative), System.getenv());
    }

    /** A file anywhere (the peers' models, say), by the same rule: skip when absent, fail under CI. */
    public static Path requireFile(Path file) {
        return require(file.toAbsolutePath(), System.getenv());
    }

    /**
     * The rule itself, with the environment passed in so that it can be tested: {@code file} when
     * readable, else a failed test under CI, else a skipped one.
     */
    static Path require(Path file, Map<String, String> env) {
        if (Files.isReadable(file)) {
            return file;
        }
        if (isCi(env)) {
            return fail("shared test data missing: " + file + " (CI=true, where a missing file is a failure, "
                    + "not a skip: CI must provide ../shared or -Dkvasir.shared.dir)");
        }
        return abort("shared test data absent: " + file + " (skipped; CI=true would fail instead)");
    }

    /** CI runs with CI=true, as most CI systems set it. */
    static boolean isCi(Map<String, String> env) {
        return "true".equalsIgnoreCase(env.getOrDefault("CI", "").strip());
    }
}
