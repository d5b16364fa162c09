package io.kvasir.bench;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Decode tokens/s of one sequence with and without a response format, on a model file (bench-110m
 * Q8_0, say): {@code java ... io.kvasir.bench.GrammarDecodeBench /tmp/b110-q8.gguf [tokens] [rounds]}.
 * Every run samples at temperature 1 with the same seed; the figure is the engine's own decode-step
 * time, so prefill is left out. Rounds alternate the variants so that drift on a shared machine
 * hits both alike.
 */
public final class GrammarDecodeBench {

    private GrammarDecodeBench() {}

    public static void main(String[] args) {
        Path model = Path.of(args[0]);
        int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 128;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        ResponseFormat schema = ResponseFormat.jsonSchema(GrammarMaskBenchmark.SCHEMA, true);
        String[] names = {"unconstrained", "json_schema", "json_object"};
        ResponseFormat[] formats = {null, schema, ResponseFormat.JSON_OBJECT};
        double[][] rates = new double[formats.length][rounds];
        try (LocalModel m = LocalModel.open(model, EngineOptions.defaults().withThreads(2))) {
            int[] prompt = m.textPrompt("Once upon a time, there was a little girl named Lily.");
            for (int r = -1; r < rounds; r++) { // round -1 warms the JIT up
                for (int v = 0; v < formats.length; v++) {
                    double rate = run(m.engine(), prompt, tokens, formats[v], r);
                    if (r >= 0) {
                        rates[v][r] = rate;
                    }
                }
            }
        }
        for (int v = 0; v < formats.length; v++) {
            double[] sorted = rates[v].clone();
            java.util.Arrays.sort(sorted);
            System.out.printf(
                    "%-14s decode %.1f tok/s (median of %d; runs %s)%n",
                    names[v], sorted[rounds / 2], rounds, java.util.Arrays.toString(rates[v]));
        }
    }

    private static double run(EngineCore engine, int[] prompt, int tokens, ResponseFormat format, int round) {
        EngineStats before = engine.stats();
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, 1000L + round, 0);
        // A response format ends its request once the JSON is complete; free text runs to max_tokens.
        engine.addRequest(new EngineRequest("r", prompt, sampling, tokens, List.of(), Set.of(), true, 0, null)
                .withResponseFormat(format, 0));
        while (engine.hasWork()) {
            engine.step();
        }
        EngineStats after = engine.stats();
        long seqs = after.decodeSequences() - before.decodeSequences();
        long nanos = after.decodeStepNanos() - before.decodeStepNanos();
        return seqs * 1e9 / nanos;
    }
}
