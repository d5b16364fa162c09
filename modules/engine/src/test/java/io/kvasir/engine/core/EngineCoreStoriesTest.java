package io.kvasir.engine.core;

import static io.kvasir.engine.core.EngineHarness.last;
import static io.kvasir.engine.core.EngineHarness.runToEnd;
import static io.kvasir.engine.core.EngineHarness.text;
import static io.kvasir.engine.core.EngineHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real engine path with the trained stories260K model: llama.cpp's greedy continuation must
 * come out of EngineCore whatever the batching, chunking, preemption, prefix caching or KV
 * transfer in between.
 */
class EngineCoreStoriesTest {

    private static final int BLOCK = 16;

    private Path gguf;
    private Tokenizer tokenizer;
    private int[] prompt;
    private int[] expected;
    private String expectedText;

    @BeforeEach
    void load() throws IOException {
        gguf = SharedData.require("models/stories260K.gguf");
        JsonNode ref = new ObjectMapper()
                .readTree(
                        SharedData.require("models/stories260K.reference.json").toFile())
                .get(0);
        prompt = ids(ref.get("prompt_token_ids"));
        expected = ids(ref.get("token_ids"));
        expectedText = ref.get("text").asText();
        try (GgufFile f = GgufFile.open(gguf)) {
            tokenizer = Tokenizers.fromGguf(f);
        }
    }

    private EngineCore engine(int numBlocks, EngineOptions config) {
        return new EngineCore(LlamaRunner.open(gguf, TestOptions.f32(1, numBlocks, BLOCK)), tokenizer, config);
    }

    private static EngineRequest greedy(String id, int[] prompt, int maxTokens) {
        return new EngineRequest(id, prompt, SamplingParams.greedy(), maxTokens, List.of(), Set.of(), true, 0, null);
    }

    @Test
    void referenceContinuationSurvivesChunkingBatchingAndPreemption() {
        // 12 blocks of 16 for four requests of ~70 tokens: they cannot all stay resident.
        try (EngineCore engine = engine(12, EngineOptions.defaults().withMaxBatchTokens(24))) {
            engine.addRequest(greedy("ref", prompt, expected.length));
            String[] others = {
                "The little dog ran to the park and", "Tom had a red ball. He", "Once upon a time, there was a big"
            };
            for (int i = 0; i < others.length; i++) {
                engine.addRequest(greedy("o" + i, tokenizer.encode(others[i], true, false), 60));
            }
            Map<String, List<TokenEvent>> events = runToEnd(engine);

            assertThat(tokens(events.get("ref")))
                    .containsExactly(Arrays.stream(expected).boxed().toArray(Integer[]::new));
            assertThat(text(events.get("ref"))).isEqualTo(expectedText);
            assertThat(engine.stats().preemptions()).isPositive();
            assertThat(engine.stats().kvBlocksInUse()).isZero();
        }
    }

    @Test
    void prefixCacheAndTransferredKvContinueTheReference() {
        // The prompt plus the first 40 reference tokens: two full blocks to share.
        int split = 40;
        int[] longPrompt = new int[prompt.length + split];
        System.arraycopy(prompt, 0, longPrompt, 0, prompt.length);
        System.arraycopy(expected, 0, longPrompt, prompt.length, split);
        Integer[] rest = Arrays.stream(expected, split, expected.length).boxed().toArray(Integer[]::new);

        KvTransfer transfer;
        try (EngineCore prefill = engine(8, EngineOptions.defaults())) {
            prefill.addRequest(greedy("p", longPrompt, 0));
            runToEnd(prefill);
            prefill.addRequest(greedy("again", longPrompt, rest.length));
            List<TokenEvent> again = runToEnd(prefill).get("again");
            assertThat(tokens(again)).containsExactly(rest);
            assertThat(last(again).cachedTokens()).isEqualTo(32);
            transfer = prefill.exportPrefix(longPrompt, null);
        }
        assertThat(transfer.coveredTokens()).isEqualTo(32);

        try (EngineCore decode = engine(8, EngineOptions.defaults())) {
            assertThat(decode.importPrefix(transfer)).isEqualTo(32);
            decode.addRequest(greedy("d", longPrompt, rest.length));
            List<TokenEvent> events = runToEnd(decode).get("d");
            assertThat(tokens(events)).containsExactly(rest);
            assertThat(last(events).cachedTokens()).isEqualTo(32);
        }
    }

    private static int[] ids(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false)
                .mapToInt(JsonNode::asInt)
                .toArray();
    }
}
