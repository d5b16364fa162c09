package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.kv.BlockPool;
import io.kvasir.engine.kv.KvCacheManager;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sampling.Workspace;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Long prefills against short ones, and the cap on running sequences: the scheduler stepped by hand
 * as the engine would (KV written, a token sampled where a chunk completes, a request ended at its
 * max tokens), counting steps and tokens.
 */
class LengthAwareSchedulingTest {

    private static final int BUDGET = 256;
    private static final int LONG = 4000;
    private static final int SHORT = 32;

    /** The scheduler plus what the engine would do around it, and when each request got its first token. */
    private static final class Driver {
        final Scheduler s;
        final KvCacheManager kv;
        final Workspace workspace = new Workspace();
        final Map<String, Request> byId = new HashMap<>();
        final Map<String, Integer> arrivedAt = new HashMap<>();
        final Map<String, Integer> firstTokenAt = new HashMap<>();
        int steps;

        Driver(EngineOptions options, int blocks, int blockSize) {
            kv = new KvCacheManager(new BlockPool(blocks), blockSize);
            s = new Scheduler(options, kv);
        }

        Driver(EngineOptions options) {
            this(options, 4096, 16);
        }

        Request add(String id, int promptLength, int priority, int maxTokens) {
            EngineRequest spec = new EngineRequest(
                    id,
                    EngineHarness.prompt(id.hashCode(), promptLength),
                    SamplingParams.greedy(),
                    maxTokens,
                    List.of(),
                    Set.of(),
                    false,
                    priority,
                    null);
            Request r = new Request(spec, s.nextArrival(), 130, EngineHarness.TOKENIZER, workspace);
            s.add(r);
            byId.put(id, r);
            arrivedAt.put(id, steps);
            return r;
        }

        SchedulerOutput step() {
            SchedulerOutput out = s.schedule();
            steps++;
            for (SchedulerOutput.Scheduled sc : out.scheduled()) {
                Request r = sc.request();
                s.onComputed(sc);
                if (sc.completes()) {
                    r.appendToken('x');
                    firstTokenAt.putIfAbsent(r.id(), steps);
                    if (r.numOutputTokens() >= r.spec().maxTokens()) {
                        s.finish(r, RequestStatus.FINISHED_LENGTH);
                    }
                }
            }
            return out;
        }

        /** Steps from arrival to the end of the step that sampled its first token (1: the next step did). */
        int stepsToFirstToken(String id) {
            return firstTokenAt.get(id) - arrivedAt.get(id);
        }
    }

    private static EngineOptions options() {
        return EngineOptions.defaults().withMaxBatchTokens(BUDGET);
    }

    private static int tokensOf(SchedulerOutput out, String id) {
        return out.scheduled().stream()
                .filter(sc -> sc.request().id().equals(id))
                .mapToInt(SchedulerOutput.Scheduled::numTokens)
                .sum();
    }

    private static List<String> ids(SchedulerOutput out) {
        return out.scheduled().stream().map(sc -> sc.request().id()).toList();
    }

    /** One 4,000-token prompt, then eight 32-token ones a step later; steps to each short one's first token. */
    private static List<Integer> shortPromptsBehindALongOne(EngineOptions options) {
        Driver d = new Driver(options);
        d.add("long", LONG, 0, 4);
        d.step();
        for (int i = 0; i < 8; i++) {
            d.add("s" + i, SHORT, 0, 50);
        }
        while (d.firstTokenAt.size() < 9) {
            assertThat(d.step().isEmpty()).isFalse();
        }
        List<Integer> waits = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            waits.add(d.stepsToFirstToken("s" + i));
        }
        return waits;
    }

    @Test
    void shortPromptsDoNotWaitForEveryChunkOfALongOne() {
        List<Integer> lengthAware = shortPromptsBehindALongOne(options());
        // Before: the long prompt, first in line, took the whole budget until its prefill was done.
        List<Integer> lengthBlind = shortPromptsBehindALongOne(options().withLongPrefillThreshold(Integer.MAX_VALUE));

        assertThat(lengthAware).allSatisfy(steps -> assertThat(steps).isLessThanOrEqualTo(3));
        // Half the budget (128 tokens) is the short prompts': four of them get their first token at once.
        assertThat(lengthAware.subList(0, 4)).containsOnly(1);
        assertThat(lengthBlind).allSatisfy(steps -> assertThat(steps).isGreaterThanOrEqualTo(15));
    }

    @Test
    void whileShortPromptsWaitTheLongOneGetsItsShareEveryStepAndFinishes() {
        Driver d = new Driver(options());
        Request longOne = d.add("long", LONG, 0, 4);
        d.step();
        int n = 0;
        int contended = 0;
        while (!d.firstTokenAt.containsKey("long")) {
            // Six new short prompts a step: 192 tokens, more than the half of the budget they get.
            for (int i = 0; i < 6; i++) {
                d.add("s" + n++, SHORT, 0, 2);
            }
            int before = longOne.numComputedTokens();
            SchedulerOutput out = d.step();
            int decodes = (int)
                    out.scheduled().stream().filter(sc -> sc.numTokens() == 1).count();
            int prefillBudget = BUDGET - decodes;
            int shortPrefill = out.numTokens() - decodes - tokensOf(out, "long");
            if (shortPrefill > 0) {
                contended++;
            }
            assertThat(tokensOf(out, "long"))
                    .as("the long prompt's chunk in step %d", d.steps)
                    .isGreaterThanOrEqualTo(Math.min(LONG - before, prefillBudget / 2));
            assertThat(d.steps).as("steps before the long prompt's first token").isLessThan(40);
        }
        assertThat(contended)
                .as("steps in which short prompts were prefilled too")
                .isGreaterThan(20);
        // Half the prefill budget a step: about twice the 16 steps it takes alone, never more.
        assertThat(d.stepsToFirstToken("long")).isLessThanOrEqualTo(2 * 16 + 2);
        assertThat(d.firstTokenAt.keySet())
                .as("short prompts kept being served")
                .hasSizeGreaterThan(100);
    }

    @Test
    void withNoShortPromptWaitingALongOneTakesTheWholeBudget() {
        for (EngineOptions options : List.of(options(), options().withLongPrefillThreshold(Integer.MAX_VALUE))) {
            Driver d = new Driver(options);
            d.add("long", LONG, 0, 4);
            List<Integer> chunks = new ArrayList<>();
            while (!d.firstTokenAt.containsKey("long")) {
                chunks.add(tokensOf(d.step(), "long"));
            }
            // 15 full steps and the 160 tokens left: the same 16 steps as a length-blind scheduler.
            assertThat(chunks).hasSize(16);
            assertThat(chunks.subList(0, 15)).containsOnly(BUDGET);
            assertThat(chunks.getLast()).isEqualTo(LONG - 15 * BUDGET);
        }

        // Running decodes come first; the long prefill gets all the rest.
        Driver d = new Driver(options());
        d.add("a", SHORT, 0, 100);
        d.add("b", SHORT, 0, 100);
        d.step();
        d.add("long", LONG, 0, 4);
        SchedulerOutput out = d.step();
        assertThat(ids(out)).containsExactly("a", "b", "long");
        assertThat(tokensOf(out, "long")).isEqualTo(BUDGET - 2);
    }

    @Test
    void priorityStillOrdersShortPromptsAmongThemselves() {
        Driver d = new Driver(options());
        d.add("long", LONG, 10, 4);
        d.step();
        for (int i = 0; i < 4; i++) {
            d.add("batch" + i, SHORT, 10, 50);
        }
        for (int i = 0; i < 4; i++) {
            d.add("chat" + i, SHORT, 0, 50);
        }
        // Four short prompts fit the short half of the budget: the interactive ones, though they came later.
        SchedulerOutput first = d.step();
        assertThat(ids(first)).containsExactly("chat0", "chat1", "chat2", "chat3", "long");
        assertThat(tokensOf(first, "long")).isEqualTo(BUDGET / 2);
        SchedulerOutput second = d.step();
        assertThat(ids(second)).startsWith("chat0", "chat1", "chat2", "chat3", "batch0", "batch1", "batch2");
        assertThat(ids(second)).endsWith("long");
    }

    @Test
    void aLongPromptFirstInLineKeepsASequenceForItself() {
        // Four sequences; four short prompts run, the long one waits behind them, more keep coming.
        Driver d = new Driver(options().withMaxNumSeqs(4));
        for (int i = 0; i < 4; i++) {
            d.add("first" + i, SHORT, 0, 3);
        }
        d.add("long", LONG, 0, 4);
        int n = 0;
        SchedulerOutput out = null;
        while (d.byId.get("long").status() != RequestStatus.RUNNING) {
            for (int i = 0; i < 4; i++) {
                d.add("s" + n++, SHORT, 0, 3);
            }
            out = d.step();
            assertThat(d.steps).as("steps before the long prompt starts").isLessThanOrEqualTo(4);
        }
        // The first four ended after 3 tokens; the long one takes one sequence, short ones that came
        // after it the other three (and the short half of the budget first).
        assertThat(ids(out)).containsExactly("s0", "s1", "s2", "long");
        assertThat(tokensOf(out, "long")).isEqualTo(BUDGET - 3 * SHORT);
    }

    @Test
    void aCachedPrefixMakesALongPromptShort() {
        Driver d = new Driver(options());
        Request first = d.add("first", 600, 0, 1);
        while (first.status() == RequestStatus.WAITING || first.status() == RequestStatus.RUNNING) {
            d.step();
        }
        d.add("long", LONG, 0, 4);
        d.step();
        // The same 600 tokens and 20 more: 592 are cached (full blocks), so 28 are left to compute.
        int[] prompt = new int[620];
        System.arraycopy(first.tokens(), 0, prompt, 0, 600);
        EngineRequest spec =
                new EngineRequest("turn2", prompt, SamplingParams.greedy(), 4, List.of(), Set.of(), false, 0, null);
        d.s.add(new Request(spec, d.s.nextArrival(), 130, EngineHarness.TOKENIZER, d.workspace));
        d.arrivedAt.put("turn2", d.steps);
        SchedulerOutput out = d.step();
        assertThat(ids(out)).containsExactly("turn2", "long");
        assertThat(tokensOf(out, "turn2")).isEqualTo(620 - 592);
        assertThat(d.stepsToFirstToken("turn2")).isEqualTo(1);
    }

    @Test
    void aPrefillChunkPreemptsARequestAlreadyScheduledInTheStep() {
        // Six blocks of 4. "high" (20 tokens, long against a budget of 8) came first; "low" ranks last.
        Driver d = new Driver(EngineOptions.defaults().withMaxBatchTokens(8), 6, 4);
        Request high = d.add("high", 20, 0, 10);
        Request low = d.add("low", 4, 5, 100);
        SchedulerOutput one = d.step();
        assertThat(ids(one)).containsExactly("low", "high"); // short first, the long one its half
        assertThat(tokensOf(one, "high")).isEqualTo(4);
        d.step(); // low decodes (2 blocks), high's 7 tokens (3 blocks)
        // low's decode is scheduled first; high's next 7 tokens need 2 more blocks, only 1 is free.
        SchedulerOutput three = d.step();
        assertThat(three.preempted()).containsExactly(low);
        assertThat(ids(three)).containsExactly("high");
        assertThat(three.numTokens()).isEqualTo(7);
        assertThat(low.status()).isEqualTo(RequestStatus.WAITING);
        assertThat(d.kv.blockTable("low")).isEmpty();
        assertThat(high.numComputedTokens()).isEqualTo(18);
    }

    @Test
    void aLowerCapOnRunningRequestsStartsNoneButStopsNone() {
        Driver d = new Driver(options().withMaxNumSeqs(8));
        assertThat(d.s.maxRunning()).isEqualTo(8);
        assertThat(d.s.setMaxRunning(100)).as("bounded by max-num-seqs").isEqualTo(8);
        assertThatThrownBy(() -> d.s.setMaxRunning(0)).isInstanceOf(IllegalArgumentException.class);

        assertThat(d.s.setMaxRunning(3)).isEqualTo(3);
        for (int i = 0; i < 6; i++) {
            d.add("r" + i, SHORT, 0, 4 + i);
        }
        assertThat(ids(d.step())).containsExactly("r0", "r1", "r2");
        d.s.setMaxRunning(1);
        // The three running go on (nobody is preempted); nobody new starts while more than one runs.
        SchedulerOutput out = d.step();
        assertThat(ids(out)).containsExactly("r0", "r1", "r2");
        assertThat(out.preempted()).isEmpty();
        while (d.byId.get("r2").status() == RequestStatus.RUNNING) {
            assertThat(d.step().scheduled()).noneMatch(sc -> sc.request().id().equals("r3"));
        }
        // r0..r2 ended at 4, 5 and 6 tokens; now one at a time.
        assertThat(ids(d.step())).containsExactly("r3");
        assertThat(ids(d.step())).containsExactly("r3");
        d.s.setMaxRunning(8);
        assertThat(ids(d.step())).containsExactly("r3", "r4", "r5");
    }
}
