package io.kvasir.engine.sim;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Helpers for driving an engine in tests. */
final class Runs {

    private Runs() {}

    /** A small engine on a virtual clock with instant steps. */
    static SimulatedEngine.Config small() {
        return SimulatedEngine.Config.defaults()
                .withTiming(TimingModel.instant())
                .withVirtualClock(true)
                .withMaxContext(256)
                .withKvBlocks(256)
                .withBlockSize(4);
    }

    /** {@code n} word ids, different for different {@code salt}. */
    static int[] prompt(int n, int salt) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = SimulatedTokenizer.FIRST_WORD + (salt * 131 + i * 7) % 1000;
        }
        return ids;
    }

    static EngineRequest greedy(String id, int[] prompt, int maxTokens) {
        return EngineRequest.of(id, prompt, SamplingParams.greedy(), maxTokens);
    }

    /** Steps until the engine has no work; returns every event by request, in order. */
    static Map<String, List<TokenEvent>> drain(InferenceEngine engine) {
        Map<String, List<TokenEvent>> byRequest = new LinkedHashMap<>();
        int guard = 0;
        while (engine.hasWork()) {
            if (++guard > 100_000) {
                throw new AssertionError("engine never ran out of work");
            }
            for (TokenEvent e : engine.step()) {
                byRequest.computeIfAbsent(e.requestId(), k -> new ArrayList<>()).add(e);
            }
        }
        return byRequest;
    }

    /** The generated token ids of a request's events (final events without a token skipped). */
    static int[] tokens(List<TokenEvent> events) {
        return events.stream().mapToInt(TokenEvent::tokenId).filter(t -> t >= 0).toArray();
    }

    static String text(List<TokenEvent> events) {
        StringBuilder sb = new StringBuilder();
        events.forEach(e -> sb.append(e.text()));
        return sb.toString();
    }
}
