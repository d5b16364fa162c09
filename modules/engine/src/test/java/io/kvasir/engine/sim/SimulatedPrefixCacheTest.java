package io.kvasir.engine.sim;

import static io.kvasir.engine.sim.Runs.greedy;
import static io.kvasir.engine.sim.Runs.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.core.TokenEvent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SimulatedPrefixCacheTest {

    @Test
    void aRepeatedPromptReportsItsCachedTokens() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            int[] p = prompt(10, 1); // blocks of 4: two full blocks, 8 tokens
            assertThat(engine.cachedPrefixLength(p, null)).isZero();
            engine.addRequest(greedy("first", p, 3));
            List<TokenEvent> first = Runs.drain(engine).get("first");
            assertThat(first.getFirst().cachedTokens()).isZero();
            assertThat(engine.cachedPrefixLength(p, null)).isEqualTo(8);

            engine.addRequest(greedy("again", p, 3));
            List<TokenEvent> again = Runs.drain(engine).get("again");

            assertThat(again).allMatch(e -> e.cachedTokens() == 8);
            assertThat(Runs.tokens(again)).isEqualTo(Runs.tokens(first));
            assertThat(engine.stats().prefixHits()).isEqualTo(8);
            assertThat(engine.stats().prefixQueries()).isEqualTo(20);
            assertThat(engine.stats().promptTokens()).isEqualTo(12);
            assertThat(engine.stats().kvBlocksInUse()).isZero();
        }
    }

    @Test
    void anotherCacheScopeFindsNothingAndATransferKeepsItsScope() {
        SimulatedEngine.Config config = Runs.small().withKvBytesPerToken(64);
        int[] p = prompt(10, 1);
        try (SimulatedEngine engine = new SimulatedEngine(config);
                SimulatedEngine decode = new SimulatedEngine(config)) {
            engine.addRequest(greedy("k1", p, 3).withCacheScope("key-1"));
            List<TokenEvent> first = Runs.drain(engine).get("k1");
            assertThat(engine.cachedPrefixLength(p, "key-1")).isEqualTo(8);
            assertThat(engine.cachedPrefixLength(p, "key-2")).isZero();
            assertThat(engine.cachedPrefixLength(p, null)).isZero();

            engine.addRequest(greedy("k2", p, 3).withCacheScope("key-2"));
            List<TokenEvent> other = Runs.drain(engine).get("k2");
            assertThat(other).allMatch(e -> e.cachedTokens() == 0);
            assertThat(Runs.tokens(other)).isEqualTo(Runs.tokens(first));

            KvTransfer transfer = engine.exportPrefix(p, "key-2");
            assertThat(transfer.cacheScope()).isEqualTo("key-2");
            assertThat(decode.importPrefix(transfer)).isEqualTo(8);
            assertThat(decode.cachedPrefixLength(p, "key-2")).isEqualTo(8);
            assertThat(decode.cachedPrefixLength(p, "key-1")).isZero();
            assertThat(engine.stats().kvBlocksInUse()).isZero();
            assertThat(decode.stats().kvBlocksInUse()).isZero();
        }
    }

    @Test
    void noPrefixCacheWhenItIsOff() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small().withPrefixCaching(false))) {
            int[] p = prompt(10, 1);
            engine.addRequest(greedy("first", p, 1));
            Runs.drain(engine);
            engine.addRequest(greedy("again", p, 1));

            assertThat(Runs.drain(engine).get("again").getFirst().cachedTokens())
                    .isZero();
            assertThat(engine.cachedPrefixLength(p, null)).isZero();
        }
    }

    @Test
    void exportedBlocksCarryTheContextToAnotherEngine() {
        SimulatedEngine.Config config = Runs.small().withKvBytesPerToken(64);
        int[] p = prompt(14, 2);
        try (SimulatedEngine prefill = new SimulatedEngine(config);
                SimulatedEngine decode = new SimulatedEngine(config);
                SimulatedEngine blank = new SimulatedEngine(config)) {
            prefill.addRequest(greedy("p", p, 0)); // prefill only: the prompt's blocks stay cached
            List<TokenEvent> done = Runs.drain(prefill).get("p");
            assertThat(done)
                    .singleElement()
                    .satisfies(e -> assertThat(e.finish()).isEqualTo(FinishReason.LENGTH));

            KvTransfer transfer = prefill.exportPrefix(p, null);
            assertThat(transfer.coveredTokens()).isEqualTo(12);
            assertThat(List.of(transfer.blocks())).hasSize(3).allMatch(b -> b.length == 4 * 64);

            assertThat(decode.importPrefix(transfer)).isEqualTo(12);
            assertThat(decode.cachedPrefixLength(p, null)).isEqualTo(12);
            assertThat(decode.stats().kvBlocksInUse()).isZero();
            decode.addRequest(greedy("d", p, 6));
            List<TokenEvent> imported = Runs.drain(decode).get("d");
            assertThat(imported.getFirst().cachedTokens()).isEqualTo(12);

            // The same prompt computed from scratch gives the same tokens: the bytes carried the KV.
            prefill.addRequest(greedy("local", p, 6));
            assertThat(Runs.tokens(imported))
                    .isEqualTo(Runs.tokens(Runs.drain(prefill).get("local")));

            // Blocks with the right tokens but other contents give other tokens, as KV would.
            byte[][] zeros = new byte[3][4 * 64];
            blank.importPrefix(new KvTransfer(4, transfer.tokens(), zeros, null));
            blank.addRequest(greedy("z", p, 6));
            assertThat(Runs.tokens(Runs.drain(blank).get("z"))).isNotEqualTo(Runs.tokens(imported));
        }
    }

    @Test
    void transfersOfAnotherShapeAreRefused() {
        try (SimulatedEngine a = new SimulatedEngine(Runs.small());
                SimulatedEngine b = new SimulatedEngine(Runs.small().withKvBytesPerToken(16))) {
            int[] p = prompt(8, 3);
            a.addRequest(greedy("p", p, 0));
            Runs.drain(a);
            KvTransfer t = a.exportPrefix(p, null);

            assertThatThrownBy(() -> b.importPrefix(t))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("bytes");
        }
    }

    @Test
    void preemptionUnderBlockPressureGivesTheSameTokens() {
        // 12 blocks of 4 slots: four requests growing to 30 tokens each cannot all hold their blocks.
        SimulatedEngine.Config tight = Runs.small().withKvBlocks(12).withMaxContext(48);
        SimulatedEngine.Config roomy = Runs.small();
        Map<String, List<TokenEvent>> squeezed;
        long preemptions;
        try (SimulatedEngine engine = new SimulatedEngine(tight)) {
            for (int i = 0; i < 4; i++) {
                engine.addRequest(greedy("r" + i, prompt(6, i), 24));
            }
            squeezed = Runs.drain(engine);
            preemptions = engine.stats().preemptions();
            assertThat(engine.stats().kvBlocksInUse()).isZero();
        }
        assertThat(preemptions).isPositive();
        try (SimulatedEngine engine = new SimulatedEngine(roomy)) {
            for (int i = 0; i < 4; i++) {
                engine.addRequest(greedy("r" + i, prompt(6, i), 24));
            }
            Map<String, List<TokenEvent>> free = Runs.drain(engine);
            for (int i = 0; i < 4; i++) {
                List<TokenEvent> events = squeezed.get("r" + i);
                assertThat(events.getLast().finish()).isEqualTo(FinishReason.LENGTH);
                assertThat(Runs.tokens(events)).hasSize(24).isEqualTo(Runs.tokens(free.get("r" + i)));
            }
        }
    }
}
