package io.kvasir.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HubReferenceTest {

    @Test
    void aFileInTheRepository() {
        HubReference r = HubReference.parse("hf://Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf");
        assertThat(r).isEqualTo(new HubReference("Qwen/Qwen3-8B-GGUF", "main", "Qwen3-8B-Q4_K_M.gguf", null));
        assertThat(r.owner()).isEqualTo("Qwen");
        assertThat(r.name()).isEqualTo("Qwen3-8B-GGUF");
        assertThat(r).hasToString("hf://Qwen/Qwen3-8B-GGUF/Qwen3-8B-Q4_K_M.gguf");
    }

    @Test
    void aQuantTypeARevisionAndAFolder() {
        assertThat(HubReference.parse("hf://unsloth/Qwen3-8B-GGUF:q4_k_m"))
                .isEqualTo(new HubReference("unsloth/Qwen3-8B-GGUF", "main", null, "Q4_K_M"));
        assertThat(HubReference.parse("hf://o/r@v1.2/Q8_0/m-00001-of-00002.gguf"))
                .isEqualTo(new HubReference("o/r", "v1.2", "Q8_0/m-00001-of-00002.gguf", null));
        assertThat(HubReference.parse("hf://o/r@abc123:Q8_0")).hasToString("hf://o/r@abc123:Q8_0");
    }

    @Test
    void theFormAPathMakesOfItIsStillAReference() {
        String asPath = Path.of("hf://o/r/m.gguf").toString();
        assertThat(asPath).isEqualTo("hf:/o/r/m.gguf");
        assertThat(HubReference.isReference(asPath)).isTrue();
        assertThat(HubReference.parse(asPath)).isEqualTo(HubReference.parse("hf://o/r/m.gguf"));
        assertThat(HubReference.isReference("/models/m.gguf")).isFalse();
        assertThat(ModelLocator.resolve(Path.of("models/m.gguf"))).isEqualTo(Path.of("models/m.gguf"));
    }

    @Test
    void malformedReferencesSayTheForms() {
        assertThatThrownBy(() -> HubReference.parse("hf://o/r"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("not a hub model reference 'hf://o/r': name a file (OWNER/REPO/FILE.gguf) or a quant type "
                        + "(OWNER/REPO:Q4_K_M) (forms: hf://OWNER/REPO/FILE.gguf, hf://OWNER/REPO:QUANT, with "
                        + "@REVISION after REPO)");
        assertThatThrownBy(() -> HubReference.parse("hf://o/r/../../etc/passwd.gguf"))
                .hasMessageContaining("must be relative and stay inside the repository");
        assertThatThrownBy(() -> HubReference.parse("hf://o/r/model.bin")).hasMessageContaining("a .gguf file");
        assertThatThrownBy(() -> HubReference.parse("hf://o/r@../x:Q4_0")).hasMessageContaining("revision");
        assertThatThrownBy(() -> HubReference.parse("hf://o/r:Q4 K")).hasMessageContaining("quant type");
    }

    @Test
    void settingsComeFromTheEnvironmentAndNeverShowTheToken() {
        HubSettings s = HubSettings.fromEnvironment(Map.of(
                "HF_ENDPOINT", "https://mirror.example/",
                "HF_TOKEN", "hf_secret",
                "XDG_CACHE_HOME", "/var/cache",
                "HF_HUB_OFFLINE", "1"));
        assertThat(s.endpoint()).hasToString("https://mirror.example");
        assertThat(s.token()).contains("hf_secret");
        assertThat(s.cacheDir()).isEqualTo(Path.of("/var/cache/kvasir"));
        assertThat(s.offline()).isTrue();
        assertThat(s.toString()).doesNotContain("hf_secret");

        HubSettings d = HubSettings.fromEnvironment(Map.of("KVASIR_CACHE", "/data/kv", "KVASIR_OFFLINE", "0"));
        assertThat(d.endpoint()).hasToString("https://huggingface.co");
        assertThat(d.token()).isEqualTo(Optional.empty());
        assertThat(d.cacheDir()).isEqualTo(Path.of("/data/kv"));
        assertThat(d.offline()).isFalse();
        assertThat(HubSettings.fromEnvironment(Map.of()).cacheDir())
                .isEqualTo(Path.of(System.getProperty("user.home"), ".cache", "kvasir"));
    }
}
