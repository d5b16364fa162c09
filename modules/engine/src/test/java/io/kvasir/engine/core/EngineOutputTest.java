package io.kvasir.engine.core;

import static io.kvasir.engine.core.EngineHarness.engine;
import static io.kvasir.engine.core.EngineHarness.last;
import static io.kvasir.engine.core.EngineHarness.prompt;
import static io.kvasir.engine.core.EngineHarness.runToEnd;
import static io.kvasir.engine.core.EngineHarness.text;
import static io.kvasir.engine.core.EngineHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a client sees of a request: text, stop conditions, logprobs, seeded sampling. */
class EngineOutputTest {

    private static final String SCRIPT = "the cat sat on the mat";
    private static final int PROMPT = 5;

    /** A runner whose model recites SCRIPT after any prompt of PROMPT tokens. */
    private static FakeModelRunner reciting() {
        FakeModelRunner runner = new FakeModelRunner(64, 4, 256);
        runner.next = ctx -> SCRIPT.charAt((ctx.length - PROMPT) % SCRIPT.length());
        return runner;
    }

    private static List<TokenEvent> run(FakeModelRunner runner, EngineRequest request) {
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(request);
        List<TokenEvent> events = runToEnd(engine).get(request.id());
        assertThat(engine.stats().kvBlocksInUse()).isZero();
        return events;
    }

    private static EngineRequest withStops(List<String> stop, Set<Integer> stopIds, int maxTokens, boolean ignoreEos) {
        return new EngineRequest(
                "s", prompt(1, PROMPT), SamplingParams.greedy(), maxTokens, stop, stopIds, ignoreEos, 0, null);
    }

    @Test
    void stopStringSplitAcrossTokensIsNeverEmitted() {
        List<TokenEvent> events = run(reciting(), withStops(List.of("sat on"), Set.of(), 100, false));
        assertThat(text(events)).isEqualTo("the cat ");
        assertThat(last(events).finish()).isEqualTo(FinishReason.STOP);
        assertThat(tokens(events)).hasSize("the cat sat on".length());
        assertThat(events).noneSatisfy(e -> assertThat(e.text()).contains("s"));
    }

    @Test
    void textThatOnlyStartsLikeAStopStringIsReleasedLater() {
        List<TokenEvent> events =
                run(reciting(), withStops(List.of("cab", "on the rug"), Set.of(), SCRIPT.length(), false));
        assertThat(text(events)).isEqualTo(SCRIPT);
        assertThat(last(events).finish()).isEqualTo(FinishReason.LENGTH);
        // "ca" waited for the 'b' that never came: the token 'a' released nothing by itself.
        int a = "the ca".length() - 1;
        assertThat(events.get(a).text()).isEmpty();
        assertThat(events.get(a + 1).text()).isEqualTo("cat");
    }

    @Test
    void minTokensHoldsBackStopStringsUntilItIsReached() {
        // "at" first completes with the 7th token ("the cat"), then with the 11th ("the cat sat").
        assertThat(text(run(reciting(), withMinTokens(List.of("at"), 9)))).isEqualTo("the cat s");
        // The 11th token completes a match begun by the 10th, before min_tokens: it still ends it.
        assertThat(text(run(reciting(), withMinTokens(List.of("at"), 11)))).isEqualTo("the cat s");
        assertThat(text(run(reciting(), withMinTokens(List.of("at"), 12)))).isEqualTo("the cat sat on the m");
        assertThat(text(run(reciting(), withMinTokens(List.of("at"), 0)))).isEqualTo("the c");
    }

    private static EngineRequest withMinTokens(List<String> stop, int minTokens) {
        return new EngineRequest(
                "s",
                prompt(1, PROMPT),
                SamplingParams.greedy().withLength(false, minTokens),
                100,
                stop,
                Set.of(),
                false,
                0,
                null);
    }

    @Test
    void eachTokensOwnTextIsKeptForLogprobsWhileStopStringsHoldTextBack() {
        EngineRequest request = new EngineRequest(
                "s",
                prompt(1, PROMPT),
                SamplingParams.greedy().withLogprobs(true),
                100,
                List.of("sat on"),
                Set.of(),
                false,
                0,
                null);
        List<TokenEvent> events = run(reciting(), request);
        // "s", "a", "t" and " " waited to see whether "sat on" completes; their own texts did not.
        assertThat(events.get("the cat s".length() - 1).text()).isEmpty();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).tokenText()).as("token %d", i).isEqualTo(String.valueOf(SCRIPT.charAt(i)));
        }
        // Without logprobs asked, the engine does not name them.
        assertThat(run(reciting(), withStops(List.of(), Set.of(), 3, false)))
                .allSatisfy(e -> assertThat(e.tokenText()).isNull());
    }

    @Test
    void earliestStopStringWins() {
        List<TokenEvent> events = run(reciting(), withStops(List.of("mat", "at"), Set.of(), 100, false));
        assertThat(text(events)).isEqualTo("the c");
    }

    @Test
    void maxTokensEndsWithLength() {
        List<TokenEvent> events = run(reciting(), withStops(List.of(), Set.of(), 7, false));
        assertThat(tokens(events)).hasSize(7);
        assertThat(text(events)).isEqualTo("the cat");
        assertThat(last(events).finish()).isEqualTo(FinishReason.LENGTH);
        assertThat(last(events).generatedTokens()).isEqualTo(7);
        assertThat(events.subList(0, 6))
                .allSatisfy(e -> assertThat(e.finished()).isFalse());
    }

    @Test
    void endOfGenerationStopsUnlessIgnored() {
        FakeModelRunner runner = reciting();
        runner.next = ctx -> ctx.length - PROMPT == 3 ? AsciiTokenizer.EOS : 'x';
        List<TokenEvent> stopped = run(runner, withStops(List.of(), Set.of(), 10, false));
        assertThat(text(stopped)).isEqualTo("xxx");
        assertThat(tokens(stopped)).containsExactly((int) 'x', (int) 'x', (int) 'x', AsciiTokenizer.EOS);
        assertThat(last(stopped).finish()).isEqualTo(FinishReason.STOP);

        List<TokenEvent> ignored = run(runner, withStops(List.of(), Set.of(), 10, true));
        assertThat(tokens(ignored)).hasSize(10);
        assertThat(last(ignored).finish()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void stopTokenIdEndsWithoutItsText() {
        List<TokenEvent> events = run(reciting(), withStops(List.of(), Set.of((int) 's'), 100, false));
        assertThat(text(events)).isEqualTo("the cat ");
        assertThat(last(events).tokenId()).isEqualTo('s');
        assertThat(last(events).finish()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void seededSamplingIsReproducibleAcrossEnginesAndBatching() {
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, 42L, 0);
        EngineRequest r = new EngineRequest("seeded", prompt(9, 12), sampling, 40, List.of(), Set.of(), false, 0, null);
        List<Integer> first = tokens(run(new FakeModelRunner(64, 4, 256), r));
        List<Integer> again = tokens(run(new FakeModelRunner(64, 4, 256), r));
        assertThat(again).isEqualTo(first);

        // In a tiny pool beside other work, with preemptions and recomputation: still the same draws.
        FakeModelRunner small = new FakeModelRunner(14, 4, 256); // one request needs 13 blocks
        EngineCore engine = engine(small, EngineOptions.defaults().withMaxBatchTokens(8));
        engine.addRequest(r);
        engine.addRequest(EngineHarness.greedy("other", prompt(10, 12), 40));
        assertThat(tokens(runToEnd(engine).get("seeded"))).isEqualTo(first);
        assertThat(engine.stats().preemptions()).isPositive();

        List<Integer> otherSeed = tokens(run(
                new FakeModelRunner(64, 4, 256),
                new EngineRequest(
                        "seeded", prompt(9, 12), sampling.withSeed(43L), 40, List.of(), Set.of(), false, 0, null)));
        assertThat(otherSeed).isNotEqualTo(first);
        // At temperature 1 the fake model's runner-up letters are likely enough to be drawn.
        List<Integer> greedy = tokens(run(
                new FakeModelRunner(64, 4, 256),
                new EngineRequest(
                        "seeded", prompt(9, 12), SamplingParams.greedy(), 40, List.of(), Set.of(), false, 0, null)));
        assertThat(first).isNotEqualTo(greedy);
    }

    @Test
    void eventsCarryLogprobsAndTopAlternatives() {
        SamplingParams sampling = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 3);
        List<TokenEvent> events = run(
                reciting(),
                new EngineRequest("lp", prompt(1, PROMPT), sampling, 3, List.of(), Set.of(), false, 0, null));
        // Fake logits: 5 for the winner, 1 for the other 25 letters, -10 for the rest of 130 ids.
        double z = Math.exp(5) + 25 * Math.exp(1) + 104 * Math.exp(-10);
        TokenEvent first = events.getFirst();
        assertThat(first.tokenId()).isEqualTo('t');
        assertThat((double) first.logprob()).isCloseTo(5 - Math.log(z), org.assertj.core.data.Offset.offset(1e-4));
        assertThat(first.topLogprobs())
                .extracting(TokenEvent.TopLogprob::tokenId)
                .containsExactly((int) 't', (int) 'a', (int) 'b');
        assertThat(first.topLogprobs().get(1).text()).isEqualTo("a");
        assertThat((double) first.topLogprobs().get(1).logprob())
                .isCloseTo(1 - Math.log(z), org.assertj.core.data.Offset.offset(1e-4));
        assertThat(first.promptTokens()).isEqualTo(PROMPT);
    }

    @Test
    void prefillOnlyRequestCachesItsPromptAndEndsWithoutAToken() {
        FakeModelRunner runner = reciting();
        EngineCore engine = engine(runner, EngineOptions.defaults());
        int[] p = prompt(2, 13);
        engine.addRequest(EngineRequest.of("pre", p, SamplingParams.greedy(), 0));
        List<TokenEvent> events = runToEnd(engine).get("pre");
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.tokenId()).isEqualTo(-1);
            assertThat(e.finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(e.generatedTokens()).isZero();
        });
        assertThat(runner.batches).allSatisfy(b -> assertThat(b.sampleRows()).isEmpty());
        assertThat(engine.cachedPrefixLength(p, null)).isEqualTo(12);
        assertThat(engine.stats().promptTokens()).isEqualTo(13);
    }
}
