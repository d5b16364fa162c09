package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.Determinism;
import io.kvasir.engine.tensor.GgmlType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Options that cannot work are refused in one line before any work starts, and every option says
 * what it does.
 */
class CliOptionsTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static void assertOneLine(Run run, String expected) {
        assertThat(run.code()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("kvasir: " + expected + System.lineSeparator());
    }

    @Test
    void benchEngineRefusesCountsThatMeasureNothing() {
        // Refused before the model loads (these would otherwise load the default model first).
        assertOneLine(run("bench", "engine", "--repeats", "0"), "--repeats must be at least 1, got 0");
        assertOneLine(run("bench", "engine", "--batch", "1,0"), "--batch must be at least 1, got 0");
        assertOneLine(run("bench", "engine", "--gen-tokens", "0"), "--gen-tokens must be at least 1, got 0");
        assertOneLine(run("bench", "engine", "--prompt-tokens", "-1"), "--prompt-tokens must be at least 1, got -1");
        assertOneLine(
                run("bench", "engine", "--deterministic", "maybe"),
                "--deterministic must be on, off or auto, got 'maybe'");
        assertOneLine(run("bench", "fleet", "--repeats", "0"), "--repeats must be at least 1, got 0");
    }

    @Test
    void everyOptionOfEveryCommandHasADescription() {
        List<String> bare = new ArrayList<>();
        collect(Main.commandLine(), bare);
        assertThat(bare).isEmpty();
    }

    private static void collect(CommandLine cl, List<String> bare) {
        CommandSpec spec = cl.getCommandSpec();
        for (OptionSpec o : spec.options()) {
            if (o.description().length == 0 || String.join("", o.description()).isBlank()) {
                bare.add(spec.qualifiedName() + " " + o.longestName());
            }
        }
        cl.getSubcommands().values().forEach(sub -> collect(sub, bare));
    }

    /** The help of --deterministic names exactly the weight types for which auto turns it on. */
    @Test
    void deterministicHelpMatchesTheEngine() {
        CommandLine engine = Main.commandLine()
                .getSubcommands()
                .get("bench")
                .getSubcommands()
                .get("engine");
        String help = String.join(
                " ", engine.getCommandSpec().findOption("--deterministic").description());
        for (GgmlType t : GgmlType.values()) {
            if (!t.supported()) {
                continue;
            }
            boolean free = Determinism.AUTO.resolve(List.of(t)) == Determinism.ON;
            if (free) {
                assertThat(help).as(t.name()).containsPattern("\\b" + t.name() + "\\b");
            } else {
                assertThat(help).as(t.name()).doesNotContainPattern("\\b" + t.name() + "\\b");
            }
        }
    }

    @Test
    void anUnknownPresetListsEveryPresetTheHelpLists(@TempDir Path dir) {
        List<String> presets = MakeModelCommand.Presets.names();
        assertThat(presets).hasSize(15).contains("tiny", "gemma2-tiny", "mistral-swa-bench", "qwen3moe-bench");

        Run bad = run("make-model", "--out", dir.resolve("m.gguf").toString(), "--preset", "nope");
        assertOneLine(bad, "unknown --preset 'nope'; use one of: " + String.join(", ", presets));
        Run help = run("make-model", "--help");
        assertThat(help.out().replaceAll("\\s+", " ")).contains(String.join(", ", presets));
    }

    @Test
    void makeModelDoesNotCreateAMissingDirectory(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-dir");
        Path out = missing.resolve("m.gguf");
        assertOneLine(
                run("make-model", "--out", out.toString()),
                "--out " + out + ": directory " + missing + " does not exist");
        assertThat(Files.exists(missing)).isFalse();
    }

    @Test
    void benchServeChecksItsReportPathsBeforeAnyLoad(@TempDir Path dir) {
        Path missing = dir.resolve("nonexistent");
        for (String option : List.of("--json", "--html", "--answers")) {
            Path file = missing.resolve("x.out");
            // Port 1 answers nothing: a run that started would fail differently, and after a while.
            Run r = run(
                    "bench",
                    "serve",
                    "--url",
                    "http://127.0.0.1:1",
                    "--model",
                    "m",
                    "--client-warm-up",
                    "0",
                    option,
                    file.toString());
            assertOneLine(r, option + " " + file + ": directory " + missing + " does not exist");
        }
        Path isDir = dir;
        assertOneLine(
                run("bench", "serve", "--url", "http://127.0.0.1:1", "--model", "m", "--json", isDir.toString()),
                "--json " + isDir + ": is a directory");
    }
}
