package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sim.SimulatedEngine;
import io.kvasir.engine.sim.SimulatedModel;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link ServedModel} thread contract: prompts rendered on other threads while the engine thread
 * steps come out exactly as rendered alone, and the engine's output (which detokenizes for stop
 * strings and logprobs on its own thread) is unchanged by the renders beside it.
 */
class ServedModelThreadsTest {

    /** Renders each render thread completes while the engine keeps stepping. */
    private static final int RENDERS_PER_THREAD = 60;

    private static final int RENDER_THREADS = 2;

    @TempDir
    Path dir;

    private static final List<List<ChatMessage>> CONVERSATIONS = List.of(
            List.of(new ChatMessage("user", "Once upon a time")),
            List.of(
                    new ChatMessage("system", "Be brief."), new ChatMessage("user", "Tell me about the little girl."),
                    new ChatMessage("assistant", "She lived near the water."), new ChatMessage("user", "And then?")),
            List.of(new ChatMessage("user", "caf\u00e9 \u2603 {{ not a template }} <|im_end|> {% raw %}")),
            List.of(new ChatMessage("user", "the world ".repeat(60))));

    private static final List<String> TEXTS = List.of("Once upon a time", "hi <|im_end|> there", "the end ".repeat(40));

    @Test
    void aGgufModelRendersOnOtherThreadsWhileItsEngineSteps() throws Exception {
        Path file = dir.resolve("tiny.gguf");
        // Small and F32: the point is the threads, not the kernels.
        SyntheticModel.write(
                new SyntheticModel.Spec(
                        64, 2, 2, 2, 128, 512, 512, GgmlType.F32, SyntheticModel.Spec.DEFAULT_SEED, true, null, 1e4f),
                file);
        try (LocalModel model =
                LocalModel.open(file, EngineOptions.defaults().withThreads(1).withKvBlocks(64))) {
            rendersBesideSteps(model);
        }
    }

    @Test
    void aSimulatedModelRendersOnOtherThreadsWhileItsEngineSteps() throws Exception {
        SimulatedEngine.Config config = SimulatedEngine.Config.defaults()
                .withTiming(TimingModel.instant())
                .withVirtualClock(true)
                .withMaxContext(1024)
                .withKvBlocks(256);
        try (SimulatedModel model = new SimulatedModel("sim", config)) {
            rendersBesideSteps(model);
        }
    }

    private static void rendersBesideSteps(ServedModel model) throws Exception {
        // What each prompt is when nothing else runs, and what the engine generates alone.
        List<int[]> chats = CONVERSATIONS.stream().map(model::chatPrompt).toList();
        List<int[]> texts = TEXTS.stream().map(model::textPrompt).toList();
        List<String> alone = generate(model.engine(), chats.get(1), 0);

        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger finishedThreads = new AtomicInteger();
        ExecutorService renderers = Executors.newFixedThreadPool(RENDER_THREADS);
        try {
            List<Future<List<String>>> mismatches = new ArrayList<>();
            for (int t = 0; t < RENDER_THREADS; t++) {
                mismatches.add(renderers.submit(() -> {
                    List<String> wrong = new ArrayList<>();
                    try {
                        // Keep going after the quota until the engine stops, so the steps never run alone.
                        for (int i = 0; i < RENDERS_PER_THREAD || !done.get(); i++) {
                            int c = i % CONVERSATIONS.size();
                            if (!java.util.Arrays.equals(model.chatPrompt(CONVERSATIONS.get(c)), chats.get(c))) {
                                wrong.add("conversation " + c);
                            }
                            int p = i % TEXTS.size();
                            if (!java.util.Arrays.equals(model.textPrompt(TEXTS.get(p)), texts.get(p))) {
                                wrong.add("text " + p);
                            }
                            if (i == RENDERS_PER_THREAD - 1) {
                                finishedThreads.incrementAndGet();
                            }
                        }
                    } catch (RuntimeException e) {
                        finishedThreads.incrementAndGet(); // let the engine loop end; the failure is reported
                        throw e;
                    }
                    return wrong;
                }));
            }
            // This thread is the engine thread: it generates again and again until every renderer has
            // done its quota, so every one of those renders overlapped engine steps.
            int rounds = 0;
            while (finishedThreads.get() < RENDER_THREADS || rounds < 2) {
                assertThat(generate(model.engine(), chats.get(1), ++rounds))
                        .as("engine output, round " + rounds)
                        .isEqualTo(alone);
            }
            done.set(true);
            for (Future<List<String>> f : mismatches) {
                assertThat(f.get()).as("prompts rendered beside engine steps").isEmpty();
            }
        } finally {
            done.set(true);
            renderers.shutdownNow();
        }
    }

    /**
     * Greedy tokens with their text and top alternatives; a stop string and logprobs make the
     * engine thread detokenize every step, beside the renders.
     */
    private static List<String> generate(InferenceEngine engine, int[] prompt, int round) {
        SamplingParams sampling = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 3);
        engine.addRequest(new EngineRequest(
                "r" + round, prompt, sampling, 12, List.of("\u0000never"), Set.of(), true, 0, "round-" + round));
        List<String> out = new ArrayList<>();
        while (engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                StringBuilder line =
                        new StringBuilder().append(e.tokenId()).append(' ').append(e.text());
                e.topLogprobs().forEach(t -> line.append(" | ").append(t.text()));
                out.add(line.toString());
            }
        }
        return out;
    }
}
