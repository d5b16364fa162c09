package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library modules (engine, fabric, http) write through SLF4J only. A node's operators route,
 * filter and rate-limit its log; a print to the console bypasses all of that, once per request in
 * the worst case (a debugging line that once shipped wrote one for every admitted prompt). The
 * command line ({@code server}) and the benchmarks print by design and are not scanned.
 */
class NoConsoleOutputTest {

    private static final Pattern PRINT = Pattern.compile("System\\s*\\.\\s*(out|err)\\s*\\.\\s*(print|write|format)");

    @Test
    void libraryModulesDoNotPrintToTheConsole() throws IOException {
        Path modules = Path.of("..").toAbsolutePath().normalize();
        List<String> found = new ArrayList<>();
        int scanned = 0;
        for (String module : List.of("engine", "fabric", "http")) {
            Path sources = modules.resolve(module).resolve("src/main/java");
            assertThat(sources).as("sources of module %s", module).isDirectory();
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path file :
                        files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    scanned++;
                    List<String> lines = Files.readAllLines(file);
                    for (int i = 0; i < lines.size(); i++) {
                        if (PRINT.matcher(lines.get(i)).find()) {
                            found.add(modules.relativize(file) + ":" + (i + 1) + ": "
                                    + lines.get(i).strip());
                        }
                    }
                }
            }
        }
        assertThat(scanned).as("files scanned").isGreaterThan(100);
        assertThat(found).as("console output in library code").isEmpty();
    }
}
