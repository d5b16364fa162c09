package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.ServedModel;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplate;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fabric over the real engine and the trained stories260K model (without the shared reference
 * data: skipped, or failed under CI, as {@link SharedData} rules). The factory here is a test wiring of EngineCore; the server owns the real one.
 */
class StoriesFabricTest {

    private static ActorTestKit kit;
    private static Fabric fabric;
    private static JsonNode reference;

    @BeforeAll
    static void start() throws Exception {
        Path model = SharedData.require("models/stories260K.gguf");
        reference = new ObjectMapper()
                .readTree(
                        SharedData.require("models/stories260K.reference.json").toFile())
                .get(0);
        String models = "stories { path = \"" + model.toString().replace("\\", "/")
                + "\", max-model-length = 256, kv-cache-blocks = 64, kv-block-size = 16 }";
        kit = ActorTestKit.create(
                "stories",
                TestNodes.config(models, List.of("gateway", "decode"), true, TestNodes.NO_OVERLOAD_REFUSALS));
        fabric = Kvasir.start(kit.system(), StoriesFabricTest::load);
        TestNodes.awaitReplicas(kit, fabric, Map.of("stories", 1));
    }

    @AfterAll
    static void stop() {
        if (kit != null) {
            kit.shutdownTestKit();
        }
    }

    private static ServedModel load(ModelSettings settings, ReplicaId replica) {
        Tokenizer tokenizer;
        try (GgufFile f = GgufFile.open(settings.path())) {
            tokenizer = Tokenizers.fromGguf(f);
        }
        EngineOptions options = EngineOptions.defaults()
                .withThreads(1)
                .withKvPrecision(KvPrecision.F32)
                .withKvBlocks(settings.kvCacheBlocks())
                .withBlockSize(settings.kvBlockSize());
        EngineCore engine = new EngineCore(LlamaRunner.open(settings.path(), options), tokenizer, options);
        ChatTemplate template = ChatTemplate.fallback();
        return new ServedModel() {
            @Override
            public InferenceEngine engine() {
                return engine;
            }

            @Override
            public int[] chatPrompt(List<ChatMessage> messages) {
                return template.encode(tokenizer, messages, true);
            }

            @Override
            public int[] textPrompt(String prompt) {
                return tokenizer.encode(prompt, true, false);
            }

            @Override
            public void close() {
                engine.close();
            }
        };
    }

    @Test
    void greedyCompletionMatchesTheReference() throws Exception {
        String expected = reference.get("text").asText();
        List<GenerationEvent> events = TestNodes.run(
                kit,
                fabric,
                TestNodes.prompt(
                        "stories",
                        reference.get("prompt").asText(),
                        reference.get("token_ids").size(),
                        GenerationRequest.Workload.INTERACTIVE));

        StringBuilder text = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> text.append(((GenerationEvent.Token) e).text()));
        assertThat(text.toString()).isNotEmpty();
        // An end-of-text token may stop it early; what it says must be the reference's beginning.
        assertThat(expected).startsWith(text.toString());
        assertThat(((GenerationEvent.Started) events.getFirst()).promptTokens())
                .isEqualTo(reference.get("prompt_token_ids").size());
    }

    @Test
    void cancelledGenerationGivesItsBlocksBack() throws Exception {
        List<GenerationEvent> some = fabric.generate(TestNodes.prompt(
                        "stories", "Tom had a red ball. He", 200, GenerationRequest.Workload.INTERACTIVE))
                .take(4)
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(30, TimeUnit.SECONDS);

        assertThat(some).hasSize(4);
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
            Fabric.ReplicaStatus replica;
            try {
                replica = fabric.modelStatus()
                        .toCompletableFuture()
                        .get(5, TimeUnit.SECONDS)
                        .getFirst()
                        .replicas()
                        .getFirst();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            assertThat(replica.kvBlocksInUse()).isZero();
            assertThat(replica.running() + replica.waiting()).isZero();
            return null;
        });
    }

    /**
     * The real engine's prefix cache is scoped: a prompt sent again in its scope is served from the
     * cache, the same prompt from another scope (another API key) is computed afresh, so no caller
     * learns from cached tokens or time to first token what another sent.
     */
    @Test
    void aPrefixCachedInOneScopeIsNotSharedWithAnother() throws Exception {
        String prompt = "Once upon a time there was a little girl named Lily. She loved to play in the park "
                + "with her friends every day. One day she found a shiny stone.";
        GenerationRequest inA = TestNodes.prompt("stories", prompt, 4, GenerationRequest.Workload.INTERACTIVE)
                .withScope("key-a");

        TestNodes.run(kit, fabric, inA);
        int againInA = started(inA).cachedTokens();
        int inB = started(inA.withScope("key-b")).cachedTokens();

        assertThat(againInA).isPositive();
        assertThat(inB).isZero();
    }

    private static GenerationEvent.Started started(GenerationRequest request) throws Exception {
        return (GenerationEvent.Started) TestNodes.run(kit, fabric, request).getFirst();
    }
}
