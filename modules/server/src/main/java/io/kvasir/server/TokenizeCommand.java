package io.kvasir.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Tokenizes JSON strings from standard input, one per line, with a model's vocabulary. Only the
 * vocabulary is read, so vocabulary-only GGUF files work.
 */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Reads one JSON string per line on stdin, writes one JSON array of token ids per line.")
final class TokenizeCommand implements Callable<Integer> {

    @Option(
            names = "--model",
            required = true,
            description = "GGUF file (a vocabulary-only file works) or hub model (hf://OWNER/REPO/FILE.gguf)")
    String model;

    @Option(names = "--no-bos", description = "Do not add the BOS token the vocabulary asks for")
    boolean noBos;

    @Option(names = "--special", description = "Parse special-token texts in the input as their ids")
    boolean special;

    @Option(names = "--jsonl", description = "JSON lines in and out (the only format)", defaultValue = "true")
    boolean jsonl;

    @Override
    public Integer call() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Tokenizer tokenizer;
        try (GgufFile gguf = GgufFile.open(ModelLocator.resolve(model))) {
            tokenizer = Tokenizers.fromGguf(gguf);
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int lineNo = 0;
        for (String line; (line = in.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String text;
            try {
                text = json.readValue(line, String.class);
            } catch (Exception e) {
                throw new IllegalArgumentException("line " + lineNo + " is not a JSON string");
            }
            out.println(json.writeValueAsString(tokenizer.encode(text, !noBos, special)));
        }
        out.flush();
        return 0;
    }
}
