package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.ServedModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.gateway.SessionIds;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {

    @Test
    void modelsFallBackToDefaultsAndRolesFollowTheNodeSetting() {
        KvasirSettings settings = KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseString("""
                kvasir.node.roles = [decode]
                kvasir.models { "llama3.2:1b" { path = "m.gguf", kv-block-size = 32, pools { prefill = 2 } } }
                """)));

        ModelSettings model = settings.model("llama3.2:1b").orElseThrow();
        assertThat(model.kvBlockSize()).isEqualTo(32);
        assertThat(model.maxModelLength()).isEqualTo(2048);
        assertThat(model.replicas("decode")).isEqualTo(1);
        assertThat(model.replicas("prefill")).isEqualTo(2);
        assertThat(settings.roles()).containsExactly("decode");
        assertThat(settings.streamBufferSize()).isEqualTo(16);
    }

    /** The step budget is a model setting, and the replica's engine is built with it. */
    @Test
    void engineStepBudgetComesFromTheModelSettings(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), file);
        KvasirSettings settings = KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseString(
                "kvasir.models { m { path = \"" + file.toString().replace("\\", "/")
                        + "\", max-batch-tokens = 96, max-num-seqs = 7, kv-precision = F32 } }")));
        ModelSettings model = settings.model("m").orElseThrow();
        assertThat(model.maxBatchTokens()).isEqualTo(96);
        assertThat(model.maxNumSeqs()).isEqualTo(7);

        try (ServedModel loaded = LocalEngines.factory().load(model, new ReplicaId("m", "decode", 0))) {
            assertThat(loaded.engine()).isInstanceOf(EngineCore.class);
            EngineOptions config = ((EngineCore) loaded.engine()).config();
            assertThat(config.maxBatchTokens()).isEqualTo(96);
            assertThat(config.maxNumSeqs()).isEqualTo(7);
            // F32 was asked for; the default, F16, stores a block in half the bytes.
            ModelSettings halves = KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseString(
                            "kvasir.models { m { path = \"" + file.toString().replace("\\", "/") + "\" } }")))
                    .model("m")
                    .orElseThrow();
            assertThat(halves.kvPrecision()).isEqualTo("F16");
            try (ServedModel half = LocalEngines.factory().load(halves, new ReplicaId("m", "decode", 1))) {
                assertThat(((EngineCore) half.engine()).kvBlockBytes() * 2)
                        .isEqualTo(((EngineCore) loaded.engine()).kvBlockBytes());
            }
        }
        assertThatThrownBy(() -> KvasirSettings.from(
                        ConfigFactory.load(ConfigFactory.parseString("kvasir.models { m { max-batch-tokens = 0 } }"))))
                .hasMessageContaining("max-batch-tokens must be positive");
        assertThatThrownBy(() -> KvasirSettings.from(
                        ConfigFactory.load(ConfigFactory.parseString("kvasir.models { m { kv-precision = Q8 } }"))))
                .hasMessageContaining("kv-precision must be F16 or F32, got 'Q8'");
    }

    @Test
    void badModelSettingsAreNamed() {
        assertThatThrownBy(() -> KvasirSettings.from(
                        ConfigFactory.load(ConfigFactory.parseString("kvasir.models { m { pools { decode = 0 } } }"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model m");
        assertThatThrownBy(() -> KvasirSettings.from(
                        ConfigFactory.load(ConfigFactory.parseString("kvasir.models { m { pools { gpu = 1 } } }"))))
                .hasMessageContaining("unknown pool 'gpu'");
    }

    @Test
    void aHubModelPathIsCheckedAtStartUpAndKeptForTheNodeToFetch() {
        ModelSettings hub = KvasirSettings.from(ConfigFactory.load(
                        ConfigFactory.parseString("kvasir.models { m { path = \"hf://Qwen/Qwen3-8B-GGUF:Q4_K_M\" } }")))
                .model("m")
                .orElseThrow();
        assertThat(io.kvasir.engine.hub.HubReference.parse(hub.path().toString()))
                .isEqualTo(io.kvasir.engine.hub.HubReference.parse("hf://Qwen/Qwen3-8B-GGUF:Q4_K_M"));

        assertThatThrownBy(() -> KvasirSettings.from(ConfigFactory.load(
                        ConfigFactory.parseString("kvasir.models { m { path = \"hf://Qwen/Qwen3-8B-GGUF\" } }"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(
                        "model m: path: not a hub model reference 'hf://Qwen/Qwen3-8B-GGUF': name a " + "file");
    }

    @Test
    void replicaIdsParseFromTheRight() {
        ReplicaId id = ReplicaId.parse("llama3.2:1b:decode:3");
        assertThat(id).isEqualTo(new ReplicaId("llama3.2:1b", "decode", 3));
        assertThat(id.entityId()).isEqualTo("llama3.2:1b:decode:3");
        assertThatThrownBy(() -> ReplicaId.parse("model:decode:x")).hasMessageContaining("must be a number");
        assertThatThrownBy(() -> ReplicaId.parse("decode:1")).hasMessageContaining("<model>:<pool>:<index>");
    }

    @Test
    void derivedSessionIdIsStableAcrossFollowUpTurns() {
        ChatMessage system = new ChatMessage("system", "be brief");
        ChatMessage first = new ChatMessage("user", "hello");
        String turn1 = SessionIds.of(chat(null, system, first));
        String turn2 = SessionIds.of(
                chat(null, system, first, new ChatMessage("assistant", "hi"), new ChatMessage("user", "more")));

        assertThat(turn2).isEqualTo(turn1);
        assertThat(SessionIds.of(chat(null, system, new ChatMessage("user", "other"))))
                .isNotEqualTo(turn1);
        assertThat(SessionIds.of(chat("given", system, first))).isEqualTo("given");
    }

    @Test
    void theSameSessionIdInTwoScopesNamesTwoSessions() {
        ChatMessage first = new ChatMessage("user", "hello");
        GenerationRequest alice = chat("alice", first);

        assertThat(SessionIds.of(alice.withScope("key-a")))
                .isNotEqualTo(SessionIds.of(alice.withScope("key-b")))
                .isNotEqualTo(SessionIds.of(alice));
        // A derived id is scoped too: the same first turn from two keys is two conversations.
        GenerationRequest derived = chat(null, first);
        assertThat(SessionIds.of(derived.withScope("key-a"))).isNotEqualTo(SessionIds.of(derived.withScope("key-b")));
    }

    private static GenerationRequest chat(String session, ChatMessage... messages) {
        return new GenerationRequest(
                "m",
                session,
                List.of(messages),
                null,
                SamplingParams.greedy(),
                4,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
    }
}
