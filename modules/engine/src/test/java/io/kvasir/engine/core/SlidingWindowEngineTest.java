package io.kvasir.engine.core;

import static io.kvasir.engine.core.EngineHarness.runToEnd;
import static io.kvasir.engine.core.EngineHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.ArchitectureModels;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Mistral-style model (every layer windowed) through the engine: blocks that leave the window go
 * back to the pool while the sequence runs, so a pool far smaller than the sequence serves it, and
 * the output is the same as with a pool large enough to keep everything.
 */
class SlidingWindowEngineTest {

    private static final int BLOCK = 16;

    @TempDir
    Path dir;

    @Test
    void releasedBlocksChangeNothingButTheMemoryHeld() {
        Path file = dir.resolve("swa.gguf");
        ArchitectureModels m = ArchitectureModels.preset("mistral-swa-tiny").withWindow(20, -1);
        m.withBase(m.base().withType(GgmlType.F32)).write(file);
        Tokenizer tokenizer;
        try (GgufFile f = GgufFile.open(file)) {
            tokenizer = Tokenizers.fromGguf(f);
        }
        int[] prompt = IntStream.range(0, 30).map(i -> 300 + (i * 7) % 200).toArray();
        int n = 100;

        List<Integer> roomy;
        try (EngineCore engine = new EngineCore(
                LlamaRunner.open(file, TestOptions.f32(1, 16, BLOCK)), tokenizer, EngineOptions.defaults())) {
            engine.addRequest(greedy("a", prompt, n));
            roomy = tokens(runToEnd(engine).get("a"));
        }
        assertThat(roomy).hasSize(n);

        // 130 tokens need 9 blocks of 16 kept whole; with the window of 20, at most 3 are live.
        try (EngineCore engine = new EngineCore(
                LlamaRunner.open(file, TestOptions.f32(1, 4, BLOCK)),
                tokenizer,
                EngineOptions.defaults().withMaxBatchTokens(16))) {
            engine.addRequest(greedy("a", prompt, n));
            Map<String, List<TokenEvent>> events = runToEnd(engine);
            assertThat(tokens(events.get("a"))).isEqualTo(roomy);
            // A second run of the same prompt starts from what prefix caching kept, and agrees.
            engine.addRequest(greedy("b", prompt, n));
            assertThat(tokens(runToEnd(engine).get("b"))).isEqualTo(roomy);
        }
    }

    private static EngineRequest greedy(String id, int[] prompt, int maxTokens) {
        return new EngineRequest(id, prompt, SamplingParams.greedy(), maxTokens, List.of(), Set.of(), true, 0, null);
    }
}
