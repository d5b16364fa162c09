package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Settings an operator can get wrong: a mistyped key fails (or is warned about), a senseless value fails. */
class SettingsValidationTest {

    private static KvasirSettings settings(String hocon) {
        return KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseString(hocon)));
    }

    @Test
    void aMistypedModelSettingStopsTheStartNamingTheModelTheKeyAndTheKnownOnes() {
        assertThatThrownBy(() -> settings(
                        "kvasir.models { a { path = \"a.gguf\", max-model-lenght = 64, kv-cache-blokcs = 12 } }"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model a has an unknown setting 'max-model-lenght'")
                .hasMessageContaining("(did you mean 'max-model-length'?)")
                .hasMessageContaining("(known: admission-queue-size, engine, itl-objective,")
                .hasMessageContaining("min-replicas")
                .hasMessageContaining("pipeline-stages");
    }

    @Test
    void theLineOfAMistypedKeyIsNamedWhenItCameFromAFile() throws Exception {
        Path file = Files.createTempFile("models", ".conf");
        try {
            Files.writeString(
                    file, "kvasir.models {\n  a {\n    path = \"a.gguf\"\n    kv-cache-blokcs = 12\n  }\n}\n");
            Config config = ConfigFactory.load(ConfigFactory.parseFile(file.toFile()));
            assertThatThrownBy(() -> KvasirSettings.from(config))
                    .hasMessageStartingWith(file.toString())
                    .hasMessageContaining(": 4: model a has an unknown setting 'kv-cache-blokcs'");
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void typosInModelDefaultsAndInAnExternalEnginesBlockAreCaughtToo() {
        assertThatThrownBy(() -> settings("kvasir.model-defaults.max-num-seq = 8"))
                .hasMessageContaining("kvasir.model-defaults has an unknown setting 'max-num-seq'");
        assertThatThrownBy(() ->
                        settings("kvasir.models { e { engine = openai-http, openai-http { endpoints = [\"http://h:1\"],"
                                + " api-kye = x } } }"))
                .hasMessageContaining("model e has an unknown setting 'openai-http.api-kye' (did you mean 'api-key'?)");
        assertThatThrownBy(() -> settings("kvasir.models { e { engine = openai-http, openai-http {"
                        + " endpoints = [\"http://h:1\"], breaker.max-failure = 2 } } }"))
                .hasMessageContaining("'openai-http.breaker.max-failure'");
        assertThatThrownBy(() -> settings("kvasir.models { a { path = a.gguf }, b { path = b.gguf } }\n"
                        + "kvasir.tiers { auto { models = [a, b], max-prompt-token = 5 } }"))
                .hasMessageContaining("tier 'auto' has an unknown setting 'max-prompt-token'");
    }

    /** Every key any reader takes from a model block, for each kind of engine, is known. */
    @Test
    void everySettingOfEveryEngineKindIsAccepted() {
        KvasirSettings s = settings("""
                kvasir.models {
                  local {
                    path = "m.gguf", max-model-length = 1024, kv-cache-blocks = 64, kv-block-size = 16
                    kv-precision = F32, pools { decode = 1, prefill = 0 }, max-in-flight = 8
                    admission-queue-size = 4, prefill-threshold = 256, max-batch-tokens = 128, max-num-seqs = 8
                    long-prefill-threshold = 0, long-prefill-share = 0.5, itl-objective = 50ms, owned-by = me
                    synthetic = false, engine = local
                    min-replicas = 0, max-replicas = 2, memory = 1GiB, replica-wait = 3s
                    pipeline-stages = 2, pipeline-split = [1], pipeline-micro-batches = 2, pipeline-wire = F16
                    pipeline-step-timeout = 10s, pipeline-placement-wait = 5s
                  }
                  sim { simulated = true }
                  ext {
                    engine = openai-http
                    openai-http {
                      endpoints = ["http://127.0.0.1:9"], resolve-dns = off, dns-replicas = 1, dns-refresh = 30s
                      api-key = "", served-model-name = "", connect-timeout = 2s, first-token-timeout = 60s
                      stall-timeout = 10s, probe-interval = 1s, probe-timeout = 2s
                      breaker { max-failures = 3, reset-timeout = 5s }
                      avoid-resumes = 10s, max-connections = 8, max-concurrency = 0
                    }
                  }
                }
                """);
        assertThat(s.models()).containsOnlyKeys("local", "sim", "ext");
    }

    @Test
    void theShippedExampleConfigsHaveNoUnknownModelSettings() {
        for (String file : new String[] {
            "examples/policy.conf", "deploy/k8s/base/models.conf", "deploy/k8s/overlays/split/models.conf"
        }) {
            Path path = Path.of("../..").resolve(file);
            assertThat(path).exists();
            KvasirSettings s = KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseFile(path.toFile())));
            assertThat(s.models()).as(file).isNotEmpty();
        }
    }

    @Test
    void negativeAndZeroValuesWhereTheyMeanNothingStopTheStart() {
        assertThatThrownBy(() -> settings("kvasir.admission.interactive.max-queue-wait = -5s"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvasir.admission.interactive.max-queue-wait must not be negative, got -5s");
        assertThatThrownBy(() -> settings("kvasir.admission.batch.ttft-objective-prefills = -1"))
                .hasMessage("kvasir.admission.batch.ttft-objective-prefills must not be negative, got -1");
        assertThatThrownBy(() -> settings("kvasir.gateway.ask-timeout = 0s"))
                .hasMessage("kvasir.gateway.ask-timeout must be positive, got 0s");
        assertThatThrownBy(() -> settings("kvasir.replicas.publish-interval = -500ms"))
                .hasMessageContaining("kvasir.replicas.publish-interval must be positive");
        assertThatThrownBy(() -> settings("kvasir.gateway.max-resumes = -1"))
                .hasMessageContaining("kvasir.gateway.max-resumes must not be negative");
        assertThatThrownBy(() -> settings("kvasir.models { a { path = a.gguf, max-in-flight = -5 } }"))
                .hasMessage("model a: max-in-flight must be positive, got -5");
        // Zero stays what it documents: no such wait, no such objective.
        KvasirSettings zero = settings("kvasir.admission.interactive.max-queue-wait = 0s\n"
                + "kvasir.admission.interactive.ttft-objective = 0s");
        assertThat(zero.admission().interactiveWait()).isZero();
    }

    @Test
    void fleetTimesAndThresholdsAreCheckedAsWell() {
        Config config = ConfigFactory.load(ConfigFactory.parseString("kvasir.fleet.queue-per-replica = 0"));
        assertThatThrownBy(() -> io.kvasir.fabric.fleet.FleetSettings.from(config, KvasirSettings.from(config)))
                .hasMessage("kvasir.fleet.queue-per-replica must be positive, got 0");
    }
}
