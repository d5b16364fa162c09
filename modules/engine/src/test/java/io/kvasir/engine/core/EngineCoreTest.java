package io.kvasir.engine.core;

import static io.kvasir.engine.core.EngineHarness.alone;
import static io.kvasir.engine.core.EngineHarness.engine;
import static io.kvasir.engine.core.EngineHarness.greedy;
import static io.kvasir.engine.core.EngineHarness.last;
import static io.kvasir.engine.core.EngineHarness.prompt;
import static io.kvasir.engine.core.EngineHarness.runToEnd;
import static io.kvasir.engine.core.EngineHarness.steps;
import static io.kvasir.engine.core.EngineHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Scheduling, caching and lifetimes of EngineCore over a fake runner: same tokens however batched. */
class EngineCoreTest {

    private static final int BS = 4;
    private static final int CTX = 256;

    private static List<EngineRequest> mixedRequests() {
        List<EngineRequest> list = new ArrayList<>();
        int[] lengths = {3, 17, 40, 9, 64, 1};
        for (int i = 0; i < lengths.length; i++) {
            list.add(greedy("r" + i, prompt(i, lengths[i]), 12 + i));
        }
        return list;
    }

    @Test
    void batchedEqualsOneAtATime() {
        List<EngineRequest> requests = mixedRequests();
        FakeModelRunner runner = new FakeModelRunner(256, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(32));
        requests.forEach(engine::addRequest);
        Map<String, List<TokenEvent>> events = runToEnd(engine);

        for (EngineRequest r : requests) {
            List<TokenEvent> ev = events.get(r.id());
            assertThat(tokens(ev)).as(r.id()).hasSize(r.maxTokens()).isEqualTo(alone(r, BS, CTX));
            assertThat(last(ev).finish()).isEqualTo(FinishReason.LENGTH);
        }
        assertThat(runner.batches)
                .anySatisfy(
                        b -> assertThat(Arrays.stream(b.seqIndex()).distinct().count())
                                .isGreaterThan(2));
        assertThat(engine.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void chunkedPrefillSplitsALongPromptUnderTheBudget() {
        EngineRequest r = greedy("long", prompt(7, 50), 5);
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(16));
        engine.addRequest(r);
        List<Integer> got = tokens(runToEnd(engine).get("long"));

        assertThat(runner.batches.subList(0, 4)).extracting(b -> b.size()).containsExactly(16, 16, 16, 2);
        assertThat(runner.batches.subList(0, 3))
                .allSatisfy(b -> assertThat(b.sampleRows()).isEmpty());
        assertThat(runner.batches.get(3).sampleRows()).containsExactly(1);
        assertThat(got).isEqualTo(alone(r, BS, CTX));
    }

    @Test
    void tokenBudgetAndSequenceLimitHoldEveryStep() {
        FakeModelRunner runner = new FakeModelRunner(256, BS, CTX);
        EngineCore engine =
                engine(runner, EngineOptions.defaults().withMaxBatchTokens(20).withMaxNumSeqs(3));
        List<EngineRequest> requests = mixedRequests();
        requests.forEach(engine::addRequest);
        Map<String, List<TokenEvent>> events = runToEnd(engine);

        assertThat(runner.batches).allSatisfy(b -> {
            assertThat(b.size()).isLessThanOrEqualTo(20);
            assertThat(b.blockTables().length).isLessThanOrEqualTo(3);
        });
        assertThat(runner.batches).anySatisfy(b -> assertThat(b.size()).isEqualTo(20));
        for (EngineRequest r : requests) {
            assertThat(tokens(events.get(r.id()))).isEqualTo(alone(r, BS, CTX));
        }
    }

    @Test
    void prefixCacheHitGivesTheSameTokensAndReportsCachedTokens() {
        int[] p = prompt(3, 41);
        FakeModelRunner runner = new FakeModelRunner(128, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("first", p, 8));
        List<TokenEvent> first = runToEnd(engine).get("first");
        assertThat(last(first).cachedTokens()).isZero();
        assertThat(engine.cachedPrefixLength(p, null)).isEqualTo(40);

        int rowsBefore = runner.totalRows();
        engine.addRequest(greedy("second", p, 8));
        List<TokenEvent> second = runToEnd(engine).get("second");

        assertThat(tokens(second)).isEqualTo(tokens(first));
        assertThat(last(second).cachedTokens()).isEqualTo(40);
        // 1 uncached prompt token, then 7 decode steps of one token
        assertThat(runner.totalRows() - rowsBefore).isEqualTo(1 + 7);
        assertThat(engine.stats().prefixHits()).isEqualTo(40);
    }

    @Test
    void wholePromptInCacheStillComputesItsLastToken() {
        int[] p = prompt(4, 12); // three full blocks
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("a", p, 3));
        List<Integer> first = tokens(runToEnd(engine).get("a"));
        engine.addRequest(greedy("b", p, 3));
        List<TokenEvent> second = runToEnd(engine).get("b");
        assertThat(tokens(second)).isEqualTo(first);
        assertThat(last(second).cachedTokens()).isEqualTo(8);
    }

    @Test
    void exportedPrefixImportedIntoAnotherEngineGivesTheSameContinuation() {
        int[] p = prompt(11, 30);
        FakeModelRunner prefillRunner = new FakeModelRunner(64, BS, CTX);
        EngineCore prefill = engine(prefillRunner, EngineOptions.defaults());
        prefill.addRequest(greedy("p", p, 0));
        List<TokenEvent> prefillEvents = runToEnd(prefill).get("p");
        assertThat(prefillEvents).singleElement().satisfies(e -> {
            assertThat(e.finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(e.tokenId()).isEqualTo(-1);
        });

        var transfer = prefill.exportPrefix(p, null);
        assertThat(transfer.coveredTokens()).isEqualTo(28);
        assertThat(transfer.tokens()).isEqualTo(Arrays.copyOf(p, 28));

        FakeModelRunner decodeRunner = new FakeModelRunner(64, BS, CTX);
        EngineCore decode = engine(decodeRunner, EngineOptions.defaults());
        assertThat(decode.importPrefix(transfer)).isEqualTo(28);
        assertThat(decode.stats().kvBlocksInUse()).isZero();
        assertThat(decode.cachedPrefixLength(p, null)).isEqualTo(28);

        EngineRequest r = greedy("d", p, 10);
        decode.addRequest(r);
        List<TokenEvent> events = runToEnd(decode).get("d");
        assertThat(tokens(events)).isEqualTo(alone(r, BS, CTX));
        assertThat(last(events).cachedTokens()).isEqualTo(28);
        assertThat(decodeRunner.batches.getFirst().size()).isEqualTo(2);
    }

    @Test
    void cacheScopesShareNoPrefixAndEachReusesItsOwn() {
        int[] p = prompt(3, 41);
        FakeModelRunner runner = new FakeModelRunner(128, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("a1", p, 8).withCacheScope("a"));
        List<TokenEvent> a1 = runToEnd(engine).get("a1");
        assertThat(engine.cachedPrefixLength(p, "a")).isEqualTo(40);
        assertThat(engine.cachedPrefixLength(p, "b")).isZero();
        assertThat(engine.cachedPrefixLength(p, null)).isZero();
        assertThat(engine.cachedPrefixLength(p, "")).isZero();

        int rowsBefore = runner.totalRows();
        engine.addRequest(greedy("b1", p, 8).withCacheScope("b"));
        List<TokenEvent> b1 = runToEnd(engine).get("b1");
        assertThat(last(b1).cachedTokens()).isZero();
        assertThat(runner.totalRows() - rowsBefore)
                .as("the whole prompt computed again")
                .isEqualTo(41 + 7);
        assertThat(tokens(b1)).isEqualTo(tokens(a1));

        engine.addRequest(greedy("a2", p, 8).withCacheScope("a"));
        assertThat(last(runToEnd(engine).get("a2")).cachedTokens()).isEqualTo(40);
        // null and "" are the one default scope.
        engine.addRequest(greedy("d1", p, 8));
        assertThat(last(runToEnd(engine).get("d1")).cachedTokens()).isZero();
        engine.addRequest(greedy("d2", p, 8).withCacheScope(""));
        assertThat(last(runToEnd(engine).get("d2")).cachedTokens()).isEqualTo(40);
        assertThat(engine.cachedPrefixLength(p, "b")).isEqualTo(40);
        assertThat(engine.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void equalPromptsOfTwoScopesRunningTogetherHoldDisjointBlocks() {
        int[] p = prompt(4, 24);
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("x", p, 6).withCacheScope("x"));
        engine.addRequest(greedy("y", p, 6).withCacheScope("y"));
        engine.step();
        ForwardBatch first = runner.batches.getFirst();
        assertThat(first.blockTables()).hasNumberOfRows(2);
        assertThat(first.blockTables()[0]).doesNotContain(first.blockTables()[1]);
        runToEnd(engine);
        // Each scope cached its own copy; a third scope finds neither.
        assertThat(engine.cachedPrefixLength(p, "x")).isEqualTo(24);
        assertThat(engine.cachedPrefixLength(p, "y")).isEqualTo(24);
        assertThat(engine.cachedPrefixLength(p, "z")).isZero();
        assertThat(engine.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void exportAndImportKeepTheCacheScope() {
        int[] p = prompt(11, 30);
        EngineCore prefill = engine(new FakeModelRunner(64, BS, CTX), EngineOptions.defaults());
        prefill.addRequest(greedy("p", p, 0).withCacheScope("t1"));
        runToEnd(prefill);
        assertThat(prefill.exportPrefix(p, null).coveredTokens()).isZero();
        assertThat(prefill.exportPrefix(p, "t2").coveredTokens()).isZero();
        KvTransfer transfer = prefill.exportPrefix(p, "t1");
        assertThat(transfer.coveredTokens()).isEqualTo(28);
        assertThat(transfer.cacheScope()).isEqualTo("t1");

        EngineCore decode = engine(new FakeModelRunner(64, BS, CTX), EngineOptions.defaults());
        assertThat(decode.importPrefix(transfer)).isEqualTo(28);
        assertThat(decode.cachedPrefixLength(p, "t1")).isEqualTo(28);
        assertThat(decode.cachedPrefixLength(p, "t2")).isZero();
        assertThat(decode.cachedPrefixLength(p, null)).isZero();

        EngineRequest other = greedy("other", p, 4).withCacheScope("t2");
        decode.addRequest(other);
        List<TokenEvent> otherEvents = runToEnd(decode).get("other");
        assertThat(last(otherEvents).cachedTokens()).isZero();
        assertThat(tokens(otherEvents)).isEqualTo(alone(other, BS, CTX));

        EngineRequest same = greedy("same", p, 10).withCacheScope("t1");
        decode.addRequest(same);
        List<TokenEvent> sameEvents = runToEnd(decode).get("same");
        assertThat(last(sameEvents).cachedTokens()).isEqualTo(28);
        assertThat(tokens(sameEvents)).isEqualTo(alone(same, BS, CTX));
        assertThat(decode.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void scopedRequestsUnderPreemptionAndAbortsLeaveNoBlockHeld() {
        // Every prompt starts with the same 16 tokens; four scopes (two spellings of the default).
        String[] scopes = {null, "", "a", "b"};
        int[] common = prompt(99, 16);
        List<EngineRequest> requests = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            int[] tail = prompt(200 + i, 3 + i);
            int[] p = Arrays.copyOf(common, common.length + tail.length);
            System.arraycopy(tail, 0, p, common.length, tail.length);
            requests.add(greedy("s" + i, p, 16).withCacheScope(scopes[i % scopes.length]));
        }
        FakeModelRunner runner = new FakeModelRunner(24, BS, CTX); // 96 slots for ~380 tokens
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(48));
        requests.forEach(engine::addRequest);
        Map<String, List<TokenEvent>> events = new java.util.HashMap<>();
        steps(engine, 4)
                .forEach(e -> events.computeIfAbsent(e.requestId(), k -> new ArrayList<>())
                        .add(e));
        engine.abort("s3");
        runToEnd(engine)
                .forEach((id, later) ->
                        events.computeIfAbsent(id, k -> new ArrayList<>()).addAll(later));

        assertThat(engine.stats().preemptions()).isPositive();
        assertThat(engine.stats().kvBlocksInUse()).isZero();
        for (EngineRequest r : requests) {
            if (!r.id().equals("s3")) {
                assertThat(tokens(events.get(r.id()))).as(r.id()).isEqualTo(alone(r, BS, CTX));
            }
        }
        // A scope nobody used finds nothing of the shared 16 tokens that every scope cached.
        assertThat(engine.cachedPrefixLength(common, "never-used")).isZero();
    }

    @Test
    void preemptionUnderATinyPoolStillYieldsTheSameTokens() {
        List<EngineRequest> requests = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            requests.add(greedy("q" + i, prompt(20 + i, 10 + 3 * i), 20));
        }
        FakeModelRunner runner = new FakeModelRunner(16, BS, CTX); // 64 slots for ~180 tokens
        EngineCore engine = engine(runner, EngineOptions.defaults());
        requests.forEach(engine::addRequest);
        Map<String, List<TokenEvent>> events = runToEnd(engine);

        for (EngineRequest r : requests) {
            assertThat(tokens(events.get(r.id()))).as(r.id()).isEqualTo(alone(r, BS, CTX));
            assertThat(last(events.get(r.id())).finish()).isEqualTo(FinishReason.LENGTH);
        }
        assertThat(engine.stats().preemptions()).isPositive();
        assertThat(engine.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void preemptionTakesTheLowestPriorityRequest() {
        FakeModelRunner runner = new FakeModelRunner(10, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        EngineRequest batch = new EngineRequest(
                "batch",
                prompt(1, 8),
                io.kvasir.engine.sampling.SamplingParams.greedy(),
                24,
                List.of(),
                java.util.Set.of(),
                false,
                10,
                null);
        EngineRequest interactive = new EngineRequest(
                "interactive",
                prompt(2, 8),
                io.kvasir.engine.sampling.SamplingParams.greedy(),
                24,
                List.of(),
                java.util.Set.of(),
                false,
                0,
                null);
        engine.addRequest(batch);
        engine.addRequest(interactive);
        Map<String, List<TokenEvent>> events = runToEnd(engine);
        assertThat(engine.stats().preemptions()).isPositive();
        // The interactive request never waits: it finishes first.
        assertThat(tokens(events.get("interactive"))).isEqualTo(alone(interactive, BS, CTX));
        assertThat(tokens(events.get("batch"))).isEqualTo(alone(batch, BS, CTX));
        assertThat(new ArrayList<>(events.keySet()).indexOf("interactive")).isZero();
    }

    @Test
    void abortFreesEveryBlockAtOnce() {
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(16));
        mixedRequests().forEach(engine::addRequest);
        steps(engine, 3);
        assertThat(engine.stats().kvBlocksInUse()).isPositive();

        for (EngineRequest r : mixedRequests()) {
            engine.abort(r.id());
        }
        assertThat(engine.stats().kvBlocksInUse()).isZero();
        assertThat(engine.hasWork()).isTrue();
        List<TokenEvent> finals = engine.step();
        assertThat(finals).hasSize(6).allSatisfy(e -> {
            assertThat(e.finish()).isEqualTo(FinishReason.ABORT);
            assertThat(e.tokenId()).isEqualTo(-1);
        });
        assertThat(engine.hasWork()).isFalse();
        engine.abort("r0"); // already gone: nothing happens
        assertThat(engine.step()).isEmpty();
    }

    @Test
    void pausedRequestKeepsItsBlocksIsNotScheduledAndResumes() {
        EngineRequest a = greedy("a", prompt(5, 9), 15);
        EngineRequest b = greedy("b", prompt(6, 9), 15);
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(a);
        engine.addRequest(b);
        List<TokenEvent> events = new ArrayList<>(steps(engine, 3));
        engine.setPaused("b", true);
        int heldBefore = engine.stats().kvBlocksInUse();
        int batchesBefore = runner.batches.size();
        List<TokenEvent> whilePaused = steps(engine, 5);
        events.addAll(whilePaused);

        assertThat(whilePaused).extracting(TokenEvent::requestId).containsOnly("a");
        assertThat(runner.batches.subList(batchesBefore, runner.batches.size()))
                .allSatisfy(batch -> assertThat(batch.blockTables()).hasDimensions(1, batch.blockTables()[0].length));
        assertThat(engine.stats().paused()).isEqualTo(1);
        assertThat(engine.stats().kvBlocksInUse()).isGreaterThanOrEqualTo(heldBefore);

        engine.setPaused("b", false);
        runToEnd(engine).values().forEach(events::addAll);
        assertThat(tokens(events.stream().filter(e -> e.requestId().equals("b")).toList()))
                .isEqualTo(alone(b, BS, CTX));
        assertThat(tokens(events.stream().filter(e -> e.requestId().equals("a")).toList()))
                .isEqualTo(alone(a, BS, CTX));
    }

    @Test
    void failedForwardEndsTheBatchWithErrorAndTheEngineGoesOn() {
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("x", prompt(1, 10), 5));
        engine.addRequest(greedy("y", prompt(2, 10), 5));
        runner.failNext = new IllegalStateException("simulated kernel failure");
        List<TokenEvent> events = engine.step();
        assertThat(events).hasSize(2).allSatisfy(e -> assertThat(e.finish()).isEqualTo(FinishReason.ERROR));
        assertThat(engine.stats().kvBlocksInUse()).isZero();
        assertThat(engine.cachedPrefixLength(prompt(1, 10), null)).isZero();

        EngineRequest z = greedy("z", prompt(1, 10), 5);
        engine.addRequest(z);
        assertThat(tokens(runToEnd(engine).get("z"))).isEqualTo(alone(z, BS, CTX));
    }

    @Test
    void contextFullEndsWithLength() {
        FakeModelRunner runner = new FakeModelRunner(64, BS, 20);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("c", prompt(1, 15), 100));
        List<TokenEvent> events = runToEnd(engine).get("c");
        assertThat(tokens(events)).hasSize(5);
        assertThat(last(events).finish()).isEqualTo(FinishReason.LENGTH);
        assertThat(runner.batches)
                .allSatisfy(b ->
                        assertThat(Arrays.stream(b.positions()).max().orElse(0)).isLessThan(20));
    }

    @Test
    void sequenceLongerThanThePoolEndsWithLength() {
        FakeModelRunner runner = new FakeModelRunner(4, BS, CTX); // 16 slots
        EngineCore engine = engine(runner, EngineOptions.defaults());
        engine.addRequest(greedy("big", prompt(1, 10), 100));
        List<TokenEvent> events = runToEnd(engine).get("big");
        assertThat(last(events).finish()).isEqualTo(FinishReason.LENGTH);
        assertThat(tokens(events)).hasSize(7); // positions 0..15 computed, the 17th token sampled
        assertThat(engine.stats().kvBlocksInUse()).isZero();
    }

    @Test
    void impossibleRequestsAreRefused() {
        FakeModelRunner runner = new FakeModelRunner(8, BS, 64);
        EngineCore engine = engine(runner, EngineOptions.defaults());
        assertThatThrownBy(() -> engine.addRequest(greedy("ctx", prompt(1, 64), 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("context");
        assertThatThrownBy(() -> engine.addRequest(greedy("pool", prompt(1, 40), 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blocks");
        assertThatThrownBy(() -> engine.addRequest(greedy("empty", new int[0], 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> engine.addRequest(greedy("vocab", new int[] {1, 500}, 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("500");
        engine.addRequest(greedy("dup", prompt(1, 4), 1));
        assertThatThrownBy(() -> engine.addRequest(greedy("dup", prompt(1, 4), 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dup");
    }
}
