package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** How {@code serve}'s flags, --config and the model become the node's configuration. */
class ServeConfigTest {

    private static Config config(String... args) throws Exception {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs(args);
        return serve.buildConfig();
    }

    @Test
    void rolesPortsAndSeedsReachAkka(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);
        Config c = config(
                "--model",
                model.toString(),
                "--roles",
                "decode",
                "--remote-port",
                "25999",
                "--port",
                "9001",
                "--seed-nodes",
                "127.0.0.1:25520,127.0.0.1:25521");

        assertThat(c.getStringList("akka.cluster.roles")).containsExactly("decode");
        assertThat(c.getInt("akka.remote.artery.canonical.port")).isEqualTo(25999);
        assertThat(c.getInt("kvasir.http.port")).isEqualTo(9001);
        assertThat(c.getStringList("akka.cluster.seed-nodes"))
                .containsExactly("akka://kvasir@127.0.0.1:25520", "akka://kvasir@127.0.0.1:25521");
    }

    @Test
    void theShippedPolicyExampleIsAValidTenantAndTierPolicy() throws Exception {
        Path example = Path.of("../../examples/policy.conf");
        Config c = config("--config", example.toString());

        KvasirSettings settings = KvasirSettings.from(c);
        assertThat(settings.models()).containsOnlyKeys("small", "large");
        assertThat(Path.of(settings.model("small").orElseThrow().path().toString()))
                .as("'embedded' is the synthetic default model")
                .isRegularFile();
        assertThat(settings.tiers().get("auto").models()).containsExactly("small", "large");
        assertThat(settings.tenants().byKey("acme-secret").orElseThrow().priority())
                .isEqualTo(10);
        assertThat(settings.tenants().byKey("globex-secret").orElseThrow().models())
                .containsExactly("auto");
    }

    @Test
    void modelFileBecomesAModelNamedAfterIt(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);
        Config c = config("--model", model.toString());

        assertThat(c.getString("kvasir.models.tiny.path"))
                .isEqualTo(model.toAbsolutePath().toString());
        assertThat(c.getBoolean("kvasir.models.tiny.synthetic")).isTrue();
        // The tiny preset's context (1024) caps the default max model length.
        assertThat(c.getInt("kvasir.models.tiny.max-model-length")).isEqualTo(1024);
        assertThat(KvasirSettings.from(c).model("tiny").orElseThrow().kvPrecision())
                .isEqualTo("F16");
    }

    @Test
    void engineFlagsBecomeModelDefaults(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);
        Config c = config("--model", model.toString(), "--kv-precision", "F32", "--max-batch-tokens", "128");

        ModelSettings tiny = KvasirSettings.from(c).model("tiny").orElseThrow();
        assertThat(tiny.kvPrecision()).isEqualTo("F32");
        assertThat(tiny.maxBatchTokens()).isEqualTo(128);
    }

    @Test
    void routingPolicyFlagChoosesThePolicyAndATypoIsAClearError(@TempDir Path dir) throws Exception {
        Path model = TestNodes.tinyModel(dir);

        assertThat(KvasirSettings.from(config("--model", model.toString(), "--routing-policy", "round-robin"))
                        .routing()
                        .policy())
                .isEqualTo(io.kvasir.fabric.routing.Router.Policy.ROUND_ROBIN);
        assertThat(KvasirSettings.from(config("--model", model.toString()))
                        .routing()
                        .policy())
                .isEqualTo(io.kvasir.fabric.routing.Router.Policy.CACHE_AWARE);
        assertThatThrownBy(() -> config("--model", model.toString(), "--routing-policy", "fastest"))
                .hasMessageContaining("cache-aware, least-loaded or round-robin");
    }

    @Test
    void configFileIsLayeredUnderTheFlags(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("extra.conf");
        Files.writeString(file, "kvasir.http.port = 7000\nkvasir.gateway.max-resumes = 5\n");
        Config c = config("--simulate", "--config", file.toString(), "--port", "7001");

        assertThat(c.getInt("kvasir.http.port")).isEqualTo(7001);
        assertThat(c.getInt("kvasir.gateway.max-resumes")).isEqualTo(5);
        assertThat(c.getBoolean("kvasir.models.simulated.simulated")).isTrue();
    }

    @Test
    void aSplitModelIsNamedWithoutItsPartNumber() {
        assertThat(ServeCommand.modelId(Path.of("/m/Qwen3-8B-Q8_0-00001-of-00002.gguf")))
                .isEqualTo("Qwen3-8B-Q8_0");
        assertThat(ServeCommand.modelId(Path.of("/m/tiny.gguf"))).isEqualTo("tiny");
    }

    @Test
    void aMalformedHubModelIsAClearErrorBeforeAnyDownload() {
        assertThatThrownBy(() -> config("--model", "hf://just-a-name"))
                .hasMessageStartingWith("not a hub model reference 'hf://just-a-name'");
    }

    @Test
    void missingModelFileIsAClearError() {
        assertThatThrownBy(() -> config("--model", "/no/such/model.gguf")).hasMessageContaining("/no/such/model.gguf");
    }
}
