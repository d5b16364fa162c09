package io.kvasir.fabric.routing;

import static io.kvasir.fabric.routing.Replicas.decode;
import static io.kvasir.fabric.routing.Replicas.turn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The filters, scorers, guard, summary and chain on their own. */
class RoutingPartsTest {

    @Test
    void filtersKeepDecodeReplicasThatDidNotFailTheTurn() {
        RouteRequest failedOnA = new RouteRequest("m", null, List.of("a"), null, new long[0]);

        assertThat(ReplicaFilter.DECODE_POOL.keep(failedOnA, Replicas.prefill("p")))
                .isFalse();
        assertThat(ReplicaFilter.DECODE_POOL.keep(failedOnA, decode("b", 0))).isTrue();
        assertThat(ReplicaFilter.NOT_EXCLUDED.keep(failedOnA, decode("a", 0))).isFalse();
        assertThat(ReplicaFilter.NOT_EXCLUDED.keep(failedOnA, decode("b", 0))).isTrue();
    }

    @Test
    void loadScoreRanksFromLeastToMostLoaded() {
        List<Candidate> all = List.of(decode("a", 2), decode("b", 6), decode("c", 4));

        assertThat(ReplicaScorer.LOAD.score(turn(null), all.get(0), all)).isEqualTo(1.0);
        assertThat(ReplicaScorer.LOAD.score(turn(null), all.get(1), all)).isEqualTo(0.0);
        assertThat(ReplicaScorer.LOAD.score(turn(null), all.get(2), all)).isEqualTo(0.5);
        List<Candidate> equal = List.of(decode("a", 3), decode("b", 3));
        assertThat(ReplicaScorer.LOAD.score(turn(null), equal.get(1), equal)).isEqualTo(1.0);
    }

    @Test
    void prefixScoreIsTheShareOfTheChainHeldFromItsStart() {
        Candidate holder = decode("a", 0, 1L, 2L, 4L);

        assertThat(ReplicaScorer.PREFIX.score(turn(null, 1L, 2L, 3L, 4L), holder, List.of(holder)))
                .isEqualTo(0.5);
        // A later link without the earlier ones is not a prefix.
        assertThat(ReplicaScorer.PREFIX.score(turn(null, 9L, 2L), holder, List.of(holder)))
                .isZero();
        assertThat(ReplicaScorer.PREFIX.score(turn(null), holder, List.of(holder)))
                .isZero();
    }

    @Test
    void aCachedLongSystemPromptIsWorthMoreThanItsShareOfMessages() {
        ChatMessage system = new ChatMessage("system", "You are a careful assistant. ".repeat(40));
        GenerationRequest turn = chat(null, system, new ChatMessage("user", "Hi!"));
        PrefixChain.Chain chain = PrefixChain.chain(turn);
        Candidate holder = decode("a", 3, chain.links()[0]);
        RouteRequest request = new RouteRequest("m", null, List.of(), null, chain);

        // One of two messages, but nearly all of the prompt's characters.
        assertThat(ReplicaScorer.PREFIX.score(request, holder, List.of(holder))).isGreaterThan(0.95);
        // So the holder wins over an idle replica with the default weights (1.0 and 0.5).
        Candidate idle = decode("b", 0);
        Router router =
                new Router(new RoutingSettings(Router.Policy.CACHE_AWARE, 1.0, 0.5, new ImbalanceGuard(1.5, 2)));
        assertThat(router.route(request, List.of(holder, idle))).isEqualTo(new Route.To("a", Route.Reason.PREFIX));
    }

    @Test
    void imbalanceGuardComparesWithTheMeanPlusSlack() {
        ImbalanceGuard guard = new ImbalanceGuard(1.5, 2);
        List<Candidate> all = List.of(decode("a", 2), decode("b", 5), decode("c", 2));

        assertThat(guard.overloaded(all.get(1), all)).isFalse(); // 5 <= 1.5 * 3 + 2
        List<Candidate> skewed = List.of(decode("a", 0), decode("b", 9), decode("c", 0));
        assertThat(guard.overloaded(skewed.get(1), skewed)).isTrue(); // 9 > 1.5 * 3 + 2
        assertThatThrownBy(() -> new ImbalanceGuard(0.5, 0)).hasMessageContaining("at least 1");
    }

    @Test
    void conversationsSharingASystemPromptShareTheFirstLinkOnly() {
        ChatMessage system = new ChatMessage("system", "You are a helpful assistant.");
        long[] one = PrefixChain.of(chat(null, system, new ChatMessage("user", "What is Akka?")));
        long[] two = PrefixChain.of(chat(null, system, new ChatMessage("user", "What is KV cache?")));
        long[] otherKey = PrefixChain.of(chat("key-b", system, new ChatMessage("user", "What is Akka?")));

        assertThat(one).hasSize(2);
        assertThat(one[0]).isEqualTo(two[0]);
        assertThat(one[1]).isNotEqualTo(two[1]);
        assertThat(otherKey[0]).isNotEqualTo(one[0]);
    }

    @Test
    void aPlainPromptChainsEveryFullTextBlock() {
        String prompt = "x".repeat(PrefixChain.TEXT_BLOCK * 2 + 10);
        long[] chain = PrefixChain.of(new GenerationRequest(
                "m",
                null,
                null,
                prompt,
                SamplingParams.greedy(),
                1,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null));
        long[] longer = PrefixChain.of(new GenerationRequest(
                "m",
                null,
                null,
                prompt + "y".repeat(300),
                SamplingParams.greedy(),
                1,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null));

        assertThat(chain).hasSize(2);
        assertThat(longer).startsWith(chain);
    }

    @Test
    void policiesAreNamedAsInTheConfig() {
        RoutingSettings settings = RoutingSettings.from(ConfigFactory.parseString(
                "policy = least-loaded, prefix-weight = 1, load-weight = 1, imbalance { factor = 2, slack = 1 }, "
                        + "session-affinity = off"));

        assertThat(settings.policy()).isEqualTo(Router.Policy.LEAST_LOADED);
        assertThat(settings.sessionAffinity()).isFalse();
        assertThat(RoutingSettings.policy("Round-Robin")).isEqualTo(Router.Policy.ROUND_ROBIN);
        assertThatThrownBy(() -> RoutingSettings.policy("random")).hasMessageContaining("cache-aware, least-loaded");
    }

    private static GenerationRequest chat(String scope, ChatMessage... messages) {
        return new GenerationRequest(
                "m",
                null,
                List.of(messages),
                null,
                SamplingParams.greedy(),
                1,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null,
                scope);
    }
}
