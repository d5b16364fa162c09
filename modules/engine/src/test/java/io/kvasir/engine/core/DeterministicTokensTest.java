package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.synth.SyntheticModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The same greedy request gives the same tokens, to the last bit of their log-probabilities, alone
 * and in a step shared with fifteen others (a 90-token prefill among them, so steps of many rows),
 * resumed from half its output, on engines with one, two or three compute threads (other replicas),
 * and in a freshly started JVM whose vector code has not been compiled by C2 (a cold replica).
 */
class DeterministicTokensTest {

    @TempDir
    static Path dir;

    private static Path synthetic;

    @BeforeAll
    static void writeModel() {
        synthetic = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), synthetic);
    }

    @Test
    void syntheticModelAloneBatchedResumedAndOnOtherReplicas() throws Exception {
        sameEverywhere(synthetic, DeterministicRun.GEN, true);
    }

    /**
     * bench-110m in Q8_0: trained-size matrices, where near-ties between logits do occur. The file
     * the peer measurements use when this machine has it; otherwise the same synthetic model written
     * here (a machine's peer directory is its own, not part of ../shared).
     */
    @Test
    void bench110mQ8() throws Exception {
        Path peers = Path.of(System.getProperty("kvasir.peers.models", "/work/peers/models"), "b110-q8.gguf");
        Path model = peers;
        if (!java.nio.file.Files.isReadable(peers)) {
            model = Path.of("target", "test-models", "b110-q8.gguf");
            if (!java.nio.file.Files.isReadable(model)) {
                java.nio.file.Files.createDirectories(model.getParent());
                Path partial = model.resolveSibling("b110-q8.gguf.part");
                io.kvasir.engine.synth.SyntheticModel.write(
                        io.kvasir.engine.synth.SyntheticModel.Spec.bench110m(), partial);
                java.nio.file.Files.move(partial, model, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        sameEverywhere(model, 6, false);
    }

    /**
     * The other weight types, through deterministic mode's own kernels ({@code ExactKernels}, shared
     * by F16, BF16, Q4_0 and the K-quants; Q4_K's widening is the most involved): a small Q4_K model
     * (256-wide rows, so every matrix is a K-quant) warm against a C1-only JVM, where every Vector
     * API call runs its Java fallback, alone, among fifteen others and resumed.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(
            value = io.kvasir.engine.tensor.GgmlType.class,
            names = {"Q4_K"})
    void otherWeightTypesWarmAndCold(io.kvasir.engine.tensor.GgmlType type) throws Exception {
        Path model = dir.resolve(type + ".gguf");
        SyntheticModel.write(
                new SyntheticModel.Spec(
                        256, 2, 4, 2, 512, 512, 1024, type, SyntheticModel.Spec.DEFAULT_SEED, false, null, 10000f),
                model);
        int gen = 4;
        List<String> warm = DeterministicRun.run(model, 2, gen);
        String alone = tokens(warm.get(0));
        for (String l : warm) {
            assertThat(tokens(l)).as(type + " " + l.split(" ")[0]).isEqualTo(alone);
        }
        assertThat(forked(model, gen, DeterministicRun.PROMPT, "-XX:TieredStopAtLevel=1", "all"))
                .as(type + " in a C1-only JVM")
                .isEqualTo(warm);
    }

    /**
     * {@code small}: the model is small enough for a C1-only JVM to run every line and for an
     * interpreted one to run the request alone; otherwise a C1-only JVM runs it alone.
     */
    private static void sameEverywhere(Path model, int gen, boolean small) throws Exception {
        // Warm: the same run a few times over, so the kernels are C2-compiled by the last.
        List<String> warm = null;
        for (int i = 0; i < 2; i++) {
            warm = DeterministicRun.run(model, 2, gen);
        }
        assertThat(warm).hasSize(3);
        String alone = tokens(warm.get(0));
        assertThat(alone.split(" ")).hasSize(gen);
        for (String l : warm) {
            assertThat(tokens(l)).as(l.split(" ")[0]).isEqualTo(alone);
        }
        assertThat(DeterministicRun.run(model, 1, gen)).as("one thread").isEqualTo(warm);
        assertThat(DeterministicRun.run(model, 3, gen)).as("three threads").isEqualTo(warm);
        // Without C2 every Vector API call runs its Java fallback, which is what a cold JVM runs. The
        // fallback is hundreds of times slower, so the slower the JVM the less it runs.
        if (small) {
            String first3 = "alone " + String.join(" ", java.util.Arrays.copyOf(alone.split(" "), 3));
            assertThat(forked(model, gen, DeterministicRun.PROMPT, "-XX:TieredStopAtLevel=1", "all"))
                    .as("C1-only JVM")
                    .isEqualTo(warm);
            // The interpreter: the request alone, its first three tokens (greedy: the warm run's first three).
            assertThat(forked(model, 3, DeterministicRun.PROMPT, "-Xint", "alone"))
                    .as("interpreted JVM")
                    .containsExactly(first3);
        } else {
            // A short prompt and two tokens: at this size the fallback code takes minutes per token.
            List<String> shortWarm = DeterministicRun.run(model, 2, 2, 6, true);
            assertThat(forked(model, 2, 6, "-XX:TieredStopAtLevel=1", "alone"))
                    .as("C1-only JVM")
                    .isEqualTo(shortWarm);
        }
    }

    private static String tokens(String line) {
        return line.substring(line.indexOf(' ') + 1);
    }

    private static List<String> forked(Path model, int gen, int promptLength, String jitFlag, String mode)
            throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path out = Files.createTempFile(dir, "run", ".txt");
        Process p = new ProcessBuilder(
                        java.toString(),
                        jitFlag,
                        "--add-modules",
                        "jdk.incubator.vector",
                        "-XX:Tier3DelayOn=100000",
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        DeterministicRun.class.getName(),
                        model.toString(),
                        "2",
                        Integer.toString(gen),
                        Integer.toString(promptLength),
                        mode)
                .redirectErrorStream(false)
                .redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("forked " + jitFlag + " JVM did not finish");
        }
        assertThat(p.exitValue()).as("forked JVM exit code").isZero();
        return new ArrayList<>(Files.readAllLines(out, StandardCharsets.UTF_8));
    }
}
