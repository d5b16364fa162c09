package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.synth.SyntheticModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local model that can never load stops the node's start with one line (the model, its path,
 * what is wrong), as the CLI refuses the same file, instead of a node that retries for ever.
 */
class ModelFileCheckTest {

    @TempDir
    Path dir;

    private static ModelSettings model(String block) {
        return KvasirSettings.from(
                        ConfigFactory.load(ConfigFactory.parseString("kvasir.models { a { " + block + " } }")))
                .model("a")
                .orElseThrow();
    }

    private static String path(Path p) {
        return "path = \"" + p.toString().replace("\\", "/") + "\"";
    }

    @Test
    void aLocalModelWithoutAPathIsAStartUpError() {
        assertThatThrownBy(() -> ModelFileCheck.check(model("max-model-length = 64"), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("model a: 'path' is required");
        // A simulated model has no file.
        ModelFileCheck.check(model("simulated = true"), true);
    }

    @Test
    void aDirectoryIsSaidToBeOne() {
        assertThatThrownBy(() -> ModelFileCheck.check(model(path(dir)), true))
                .hasMessage("model a: cannot serve " + dir + ": " + dir.getFileName()
                        + ": is a directory, not a GGUF file");
    }

    @Test
    void aFileThatIsNotGgufIsNamed() throws Exception {
        Path text = Files.writeString(dir.resolve("notes.gguf"), "these are not weights\n");
        assertThatThrownBy(() -> ModelFileCheck.check(model(path(text)), true))
                .hasMessageStartingWith("model a: cannot serve " + text + ": notes.gguf:")
                .hasMessageContaining("not a GGUF file");
    }

    @Test
    void anArchitectureTheEngineDoesNotRunIsNamed() throws Exception {
        Path falcon = falco(dir.resolve("falco.gguf"));
        assertThatThrownBy(() -> ModelFileCheck.check(model(path(falcon)), true))
                .hasMessageStartingWith("model a: cannot serve " + falcon + ": ")
                .hasMessageContaining("unsupported model architecture 'falco'");
    }

    @Test
    void aFileNotThereYetAHubModelAndAGatewayAreLeftToTheLoads() throws Exception {
        ModelFileCheck.check(model(path(dir.resolve("later.gguf"))), true);
        ModelFileCheck.check(model("path = \"hf://owner/repo:Q4_K_M\""), true);
        ModelFileCheck.check(model(path(dir)), false);
        Path good = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), good);
        ModelFileCheck.check(model(path(good)), true);
    }

    @Test
    void aNodeWithSuchAModelFailsToStartAtOnce() throws Exception {
        Path falcon = falco(dir.resolve("falco.gguf"));
        ActorTestKit kit = ActorTestKit.create(
                "bad-model", TestNodes.config("a { " + path(falcon) + " }", List.of("gateway", "decode"), true));
        try {
            long started = System.nanoTime();
            assertThatThrownBy(() -> Kvasir.start(kit.system(), LocalEngines.factory()))
                    .hasMessageContaining("model a: cannot serve " + falcon)
                    .hasMessageContaining("unsupported model architecture 'falco'");
            assertThat(System.nanoTime() - started).isLessThan(10_000_000_000L);
        } finally {
            kit.shutdownTestKit();
        }
    }

    /** The tiny synthetic model with its architecture renamed: every "llama" key becomes "falco". */
    static Path falco(Path file) throws Exception {
        SyntheticModel.write(SyntheticModel.Spec.tiny(), file);
        byte[] bytes = Files.readAllBytes(file);
        byte[] from = "llama".getBytes(StandardCharsets.US_ASCII);
        byte[] to = "falco".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + from.length <= bytes.length; i++) {
            if (java.util.Arrays.equals(bytes, i, i + from.length, from, 0, from.length)) {
                System.arraycopy(to, 0, bytes, i, to.length);
            }
        }
        return Files.write(file, bytes);
    }
}
