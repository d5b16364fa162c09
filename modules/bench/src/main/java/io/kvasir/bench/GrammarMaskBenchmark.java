package io.kvasir.bench;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.grammar.Grammars;
import io.kvasir.engine.grammar.JsonConstraint;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.grammar.TokenGrammar;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-step cost of a response format's mask over the 32000-token vocabulary of bench-110m:
 * {@code cached} is a step whose automaton state was seen before (the common case: inside strings,
 * after commas, in every request with the same schema), {@code cold} walks the vocabulary trie
 * from scratch. Each call masks one step of a real document, cycling through its token positions.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1)
public class GrammarMaskBenchmark {

    static final String SCHEMA = """
            {"type":"object","additionalProperties":false,
             "properties":{"name":{"type":"string"},"age":{"type":"integer"},
               "role":{"enum":["admin","user","guest"]},"tags":{"type":"array","items":{"type":"string"}},
               "address":{"type":"object","additionalProperties":false,
                 "properties":{"city":{"type":"string"},"zip":{"type":["string","null"]}},"required":["city","zip"]}},
             "required":["name","age","role","tags","address"]}
            """;

    static final String DOCUMENT = "{\"name\": \"Lily Upon\", \"age\": 31, \"role\": \"user\", \"tags\": "
            + "[\"the little girl\", \"named\", \"story of the world\"], \"address\": {\"city\": \"Once upon a "
            + "time there was a house\", \"zip\": null}}";

    @Param({"schema", "json_object"})
    public String format;

    private TokenGrammar grammar;
    private final List<JsonConstraint> positions = new ArrayList<>();
    private float[] logits;
    private int next;

    @Setup
    public void setUp() throws IOException {
        Path file = Files.createTempFile("kvasir-vocab-32000", ".gguf");
        // Only the vocabulary matters: the smallest model that carries bench-110m's 32000 tokens.
        SyntheticModel.write(
                new SyntheticModel.Spec(64, 1, 2, 2, 64, 32000, 64, GgmlType.F32, 1, true, null, 1e4f), file);
        Tokenizer tok;
        try (GgufFile f = GgufFile.open(file)) {
            tok = Tokenizers.fromGguf(f);
        }
        Files.delete(file);
        ResponseFormat rf =
                format.equals("schema") ? ResponseFormat.jsonSchema(SCHEMA, true) : ResponseFormat.JSON_OBJECT;
        grammar = Grammars.compile(rf, tok);
        JsonConstraint c = grammar.start();
        for (int id : tok.encode(DOCUMENT, false, false)) {
            positions.add(c.copy());
            c.accept(id);
        }
        logits = new float[tok.vocabSize()];
    }

    private JsonConstraint nextPosition() {
        JsonConstraint c = positions.get(next);
        next = (next + 1) % positions.size();
        return c;
    }

    @Benchmark
    public float[] cached() {
        nextPosition().mask(logits);
        return logits;
    }

    @Benchmark
    public float[] cold() {
        grammar.clearCache();
        nextPosition().mask(logits);
        return logits;
    }
}
