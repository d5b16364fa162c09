package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Builds engines over the fake runner and drives them to the end. */
final class EngineHarness {

    static final AsciiTokenizer TOKENIZER = new AsciiTokenizer();

    private EngineHarness() {}

    static EngineCore engine(FakeModelRunner runner, EngineOptions config) {
        return new EngineCore(runner, TOKENIZER, config);
    }

    /** A prompt of printable characters, the same for the same seed. */
    static int[] prompt(long seed, int length) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = r.nextInt(' ', '~' + 1);
        }
        return p;
    }

    static EngineRequest greedy(String id, int[] prompt, int maxTokens) {
        return EngineRequest.of(id, prompt, SamplingParams.greedy(), maxTokens);
    }

    /** Steps until no work is left; returns every event by request id, in order. */
    static Map<String, List<TokenEvent>> runToEnd(EngineCore engine) {
        Map<String, List<TokenEvent>> byId = new LinkedHashMap<>();
        int steps = 0;
        while (engine.hasWork()) {
            assertThat(++steps).as("steps before the engine ran dry").isLessThan(10_000);
            for (TokenEvent e : engine.step()) {
                byId.computeIfAbsent(e.requestId(), k -> new ArrayList<>()).add(e);
            }
        }
        return byId;
    }

    /** Steps {@code n} times; returns the events. */
    static List<TokenEvent> steps(EngineCore engine, int n) {
        List<TokenEvent> events = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            events.addAll(engine.step());
        }
        return events;
    }

    static List<Integer> tokens(List<TokenEvent> events) {
        return events.stream()
                .filter(e -> e.tokenId() >= 0)
                .map(TokenEvent::tokenId)
                .toList();
    }

    static String text(List<TokenEvent> events) {
        StringBuilder sb = new StringBuilder();
        events.forEach(e -> sb.append(e.text()));
        return sb.toString();
    }

    static TokenEvent last(List<TokenEvent> events) {
        return events.getLast();
    }

    /** The tokens a request gets alone, in a fresh roomy engine without prefix caching. */
    static List<Integer> alone(EngineRequest request, int blockSize, int maxContext) {
        FakeModelRunner runner = new FakeModelRunner(1024, blockSize, maxContext);
        EngineCore engine = engine(runner, EngineOptions.defaults().withPrefixCaching(false));
        engine.addRequest(request);
        return tokens(runToEnd(engine).get(request.id()));
    }
}
