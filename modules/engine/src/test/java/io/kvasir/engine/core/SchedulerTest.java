package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.kv.BlockPool;
import io.kvasir.engine.kv.KvCacheManager;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sampling.Workspace;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The scheduler alone, stepped by hand as the engine would: no model, no sampling. */
class SchedulerTest {

    private final Workspace workspace = new Workspace();

    private Request request(Scheduler s, String id, int promptLength, int priority) {
        EngineRequest spec = new EngineRequest(
                id,
                EngineHarness.prompt(id.hashCode(), promptLength),
                SamplingParams.greedy(),
                100,
                List.of(),
                Set.of(),
                false,
                priority,
                null);
        Request r = new Request(spec, s.nextArrival(), 130, EngineHarness.TOKENIZER, workspace);
        s.add(r);
        return r;
    }

    /** What the engine does after a successful forward: KV written, a token sampled where complete. */
    private static void complete(Scheduler s, SchedulerOutput out) {
        for (SchedulerOutput.Scheduled sc : out.scheduled()) {
            s.onComputed(sc);
            if (sc.completes()) {
                sc.request().appendToken('x');
            }
        }
    }

    private static List<String> ids(SchedulerOutput out) {
        return out.scheduled().stream().map(sc -> sc.request().id()).toList();
    }

    @Test
    void runningFirstThenWaitingByPriorityThenArrival() {
        Scheduler s = new Scheduler(
                EngineOptions.defaults().withMaxBatchTokens(100), new KvCacheManager(new BlockPool(64), 4));
        request(s, "late-batch", 10, 10);
        request(s, "first", 10, 0);
        SchedulerOutput one = s.schedule();
        assertThat(ids(one)).containsExactly("first", "late-batch");
        complete(s, one);

        request(s, "newcomer", 10, 0);
        SchedulerOutput two = s.schedule();
        // Running requests (one decode token each) come before the newcomer, whatever its priority.
        assertThat(ids(two)).containsExactly("first", "late-batch", "newcomer");
        assertThat(two.scheduled())
                .extracting(SchedulerOutput.Scheduled::numTokens)
                .containsExactly(1, 1, 10);
    }

    @Test
    void budgetSplitsAPromptAndSequenceLimitHoldsTheRestBack() {
        // Length-blind (no prompt is long), so the order is priority then arrival alone.
        Scheduler s = new Scheduler(
                EngineOptions.defaults()
                        .withMaxBatchTokens(8)
                        .withMaxNumSeqs(2)
                        .withLongPrefillThreshold(Integer.MAX_VALUE),
                new KvCacheManager(new BlockPool(64), 4));
        Request a = request(s, "a", 13, 0);
        request(s, "b", 3, 0);
        request(s, "c", 3, 0);
        SchedulerOutput one = s.schedule();
        assertThat(one.scheduled()).singleElement().satisfies(sc -> {
            assertThat(sc.request()).isSameAs(a);
            assertThat(sc.numTokens()).isEqualTo(8);
            assertThat(sc.completes()).isFalse();
        });
        complete(s, one);
        SchedulerOutput two = s.schedule();
        assertThat(ids(two)).containsExactly("a", "b"); // 5 + 3 tokens; "c" would be a third sequence
        assertThat(two.scheduled().getFirst().start()).isEqualTo(8);
        assertThat(two.numTokens()).isEqualTo(8);
    }

    @Test
    void preemptionFreesTheLastInOrderAndAdmitsNothingNewThatStep() {
        KvCacheManager kv = new KvCacheManager(new BlockPool(6), 4);
        Scheduler s = new Scheduler(EngineOptions.defaults(), kv);
        Request high = request(s, "high", 12, 0); // 3 blocks
        Request low = request(s, "low", 12, 5); // 3 blocks: the pool is full
        complete(s, s.schedule());
        request(s, "waiting", 2, 0);

        // "high" needs a 4th block for its sampled token: "low" goes.
        SchedulerOutput out = s.schedule();
        assertThat(out.preempted()).containsExactly(low);
        assertThat(ids(out)).containsExactly("high");
        assertThat(low.status()).isEqualTo(RequestStatus.WAITING);
        assertThat(low.numComputedTokens()).isZero();
        assertThat(kv.blockTable("low")).isEmpty();
        assertThat(kv.blockTable("high")).hasSize(4);
        complete(s, out);

        // Back in waiting, "low" still sorts by its priority: the newcomer with priority 0 goes first.
        SchedulerOutput next = s.schedule();
        assertThat(ids(next)).containsExactly("high", "waiting");
        assertThat(high.numComputedTokens()).isEqualTo(13);
    }

    @Test
    void pausedRequestsAreSkippedWhereverTheyAre() {
        Scheduler s = new Scheduler(EngineOptions.defaults(), new KvCacheManager(new BlockPool(64), 4));
        request(s, "run", 5, 0);
        request(s, "wait", 5, 0);
        s.setPaused("wait", true);
        SchedulerOutput one = s.schedule();
        assertThat(ids(one)).containsExactly("run");
        complete(s, one);
        s.setPaused("run", true);
        assertThat(s.schedule().isEmpty()).isTrue();
        s.setPaused("wait", false);
        assertThat(ids(s.schedule())).containsExactly("wait");
    }
}
