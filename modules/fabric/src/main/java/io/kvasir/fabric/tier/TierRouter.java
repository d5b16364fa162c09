package io.kvasir.fabric.tier;

import akka.NotUsed;
import akka.japi.pf.PFBuilder;
import akka.stream.Graph;
import akka.stream.Materializer;
import akka.stream.SourceShape;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.gateway.PrefillBacklog;
import io.kvasir.fabric.metrics.FabricMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * Serves a tiered model id: each request goes to the cheapest tier whose rules admit it (prompt
 * length, requested output, the caller's hint), moves on when that tier refuses for load, and,
 * where escalation is on, is answered by the next tier when the cheaper tier's answer is unsure
 * (its mean token log-probability is below the threshold). To judge an answer it must be whole, so
 * a tier that may escalate answers a streaming request only once it has finished: its tokens then
 * stream at once, or the next tier's stream replaces them, and the client never sees a token it
 * would have to take back. The last tier never escalates and streams as usual. Each answer's
 * {@link GenerationEvent.Started} names the model that gave it.
 */
public final class TierRouter {

    private final Map<String, TierSettings> tiers;
    private final Function<GenerationRequest, Source<GenerationEvent, NotUsed>> place;
    private final Materializer materializer;
    private final FabricMetrics metrics;

    /** @param place places a request on a served model (the model already checked for the caller) */
    public TierRouter(
            Map<String, TierSettings> tiers,
            Function<GenerationRequest, Source<GenerationEvent, NotUsed>> place,
            Materializer materializer,
            FabricMetrics metrics) {
        this.tiers = Map.copyOf(tiers);
        this.place = place;
        this.materializer = materializer;
        this.metrics = metrics;
    }

    public boolean isTiered(String model) {
        return model != null && tiers.containsKey(model);
    }

    public Map<String, TierSettings> tiers() {
        return tiers;
    }

    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        TierSettings tier = tiers.get(request.model());
        return attempt(tier, request, firstTier(tier, request));
    }

    /** The cheapest tier the request's own shape admits. */
    static int firstTier(TierSettings tier, GenerationRequest request) {
        int strongest = tier.models().size() - 1;
        String hint = request.tierHint();
        if (hint != null && tier.strongHints().contains(hint.toLowerCase(Locale.ROOT))) {
            return strongest;
        }
        if (tier.maxPromptTokens() > 0 && PrefillBacklog.estimateTokens(request) > tier.maxPromptTokens()) {
            return strongest;
        }
        if (tier.maxTokens() > 0 && request.maxTokens() != null && request.maxTokens() > tier.maxTokens()) {
            return strongest;
        }
        return 0;
    }

    private Source<GenerationEvent, NotUsed> attempt(TierSettings tier, GenerationRequest request, int index) {
        String model = tier.models().get(index);
        boolean strongest = index == tier.models().size() - 1;
        Source<GenerationEvent, NotUsed> answer = !strongest && tier.escalates()
                ? judged(tier, request, index)
                : place.apply(request.withModel(model)).map(e -> named(e, tier, model));
        if (strongest || !tier.spillWhenOverloaded()) {
            return answer;
        }
        return answer.recoverWithRetries(
                1,
                new PFBuilder<Throwable, Graph<SourceShape<GenerationEvent>, NotUsed>>()
                        .match(Throwable.class, TierRouter::overloaded, t -> {
                            metrics.tierEscalation(tier.id(), model, "overloaded");
                            return attempt(tier, request, index + 1);
                        })
                        .build());
    }

    /** The tier's whole answer, passed on if sure enough, else replaced by the next tier's. */
    private Source<GenerationEvent, NotUsed> judged(TierSettings tier, GenerationRequest request, int index) {
        String model = tier.models().get(index);
        int asked = request.sampling() == null ? 0 : request.sampling().topLogprobs();
        GenerationRequest withLogprobs = request.withModel(model).withSampling(withTopLogprobs(request.sampling()));
        return Source.lazyCompletionStageSource(() -> place.apply(withLogprobs)
                        .runWith(Sink.seq(), materializer)
                        .thenApply(events -> {
                            double mean = meanLogprob(events);
                            if (mean < tier.escalateBelowLogprob()) {
                                metrics.tierEscalation(tier.id(), model, "logprob");
                                return attempt(tier, request, index + 1);
                            }
                            List<GenerationEvent> shown = new ArrayList<>(events.size());
                            for (GenerationEvent e : events) {
                                shown.add(named(trimmed(e, asked), tier, model));
                            }
                            return Source.from(shown);
                        }))
                .mapMaterializedValue(m -> NotUsed.notUsed());
    }

    private GenerationEvent named(GenerationEvent event, TierSettings tier, String model) {
        if (event instanceof GenerationEvent.Started started) {
            metrics.tierAnswer(tier.id(), model);
            return started.withModel(model);
        }
        return event;
    }

    /** Mean log-probability of the answer's tokens; +inf (sure) when it has none to judge. */
    static double meanLogprob(List<GenerationEvent> events) {
        double sum = 0;
        int n = 0;
        for (GenerationEvent e : events) {
            if (e instanceof GenerationEvent.Token t && Float.isFinite(t.logprob())) {
                sum += t.logprob();
                n++;
            }
        }
        return n == 0 ? Double.POSITIVE_INFINITY : sum / n;
    }

    /** The engine computes a token's log-probability only when some are asked for. */
    private static SamplingParams withTopLogprobs(SamplingParams p) {
        SamplingParams s = p == null ? SamplingParams.GREEDY : p;
        return s.topLogprobs() > 0 ? s : s.withTopLogprobs(1);
    }

    /** Drops the alternatives the caller did not ask for (asked for none: the log-probability too). */
    private static GenerationEvent trimmed(GenerationEvent event, int asked) {
        if (event instanceof GenerationEvent.Token t && t.topLogprobs().size() > asked) {
            return t.withTop(
                    asked == 0 ? Float.NaN : t.logprob(), t.topLogprobs().subList(0, asked));
        }
        return event;
    }

    private static boolean overloaded(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return cause instanceof FabricException fe && fe.kind() == FabricException.Kind.OVERLOADED;
    }
}
