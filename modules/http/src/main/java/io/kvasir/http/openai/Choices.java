package io.kvasir.http.openai;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.ApiError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * {@code n > 1}: n generations of the same request, answered as one with choices indexed 0..n-1.
 * Each is an ordinary generation through the fabric, so the second and later ones find the prompt's
 * KV blocks in the prefix cache of the replica that prefilled the first (same model, same scope,
 * same prompt), and only decode is paid n times. A seeded request gives choice i the seed
 * {@code seed + i}, so choices differ yet the whole answer is reproducible; greedy choices are all
 * the same text, as OpenAI's are.
 *
 * <p>A legacy completion may also carry several prompts: n choices for each, indexed prompt by
 * prompt ({@code prompt_index * n + j}, as OpenAI numbers them). Usage counts each prompt once and
 * sums the completions' tokens. Streamed, every chunk carries
 * its choice's {@code index}; the chunks of the n choices interleave as they are generated, and
 * the one usage chunk (when asked for) and {@code [DONE]} come after all n have finished.
 */
final class Choices {

    /** OpenAI's own limit on n. */
    static final int MAX = 128;

    private Choices() {}

    /** {@code n} from the body: 1 when absent; a 400 naming it when not an integer in [1, 128]. */
    static int count(JsonNode body) {
        JsonNode n = body == null ? null : body.get("n");
        if (n == null || n.isNull()) {
            return 1;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 1 || n.intValue() > MAX) {
            throw ApiError.invalid("'n' must be an integer from 1 to " + MAX + ", got " + abbreviate(n) + ".", "n")
                    .toException();
        }
        return n.intValue();
    }

    /**
     * A completion's body once per prompt when {@code prompt} holds several (strings, or arrays of
     * token ids), each copy with one of them; else the body itself. A 400 when the generations it
     * makes ({@code perPrompt} each: n, or best_of when larger) would be more than {@link #MAX}.
     */
    static List<JsonNode> perPrompt(JsonNode body, int perPrompt) {
        JsonNode prompt = body == null ? null : body.get("prompt");
        if (prompt == null
                || !prompt.isArray()
                || prompt.size() <= 1
                || !(prompt.get(0).isTextual() || prompt.get(0).isArray())) {
            return List.of(body);
        }
        List<CompletionPrompts.Prompt> prompts = CompletionPrompts.read(prompt);
        if ((long) prompts.size() * perPrompt > MAX) {
            throw ApiError.invalid(
                            prompts.size() + " prompts times " + perPrompt + " generations each make more than " + MAX
                                    + " generations.",
                            "prompt")
                    .toException();
        }
        List<JsonNode> out = new ArrayList<>(prompts.size());
        for (CompletionPrompts.Prompt one : prompts) {
            ObjectNode copy = ((ObjectNode) body).deepCopy();
            if (one.text() != null) {
                copy.put("prompt", one.text());
            } else {
                ArrayNode ids = copy.putArray("prompt");
                for (int id : one.tokenIds()) {
                    ids.add(id);
                }
            }
            out.add(copy);
        }
        return out;
    }

    /** The n requests: the same, but for each one's seed. */
    static List<GenerationRequest> requests(GenerationRequest request, int n) {
        List<GenerationRequest> out = new ArrayList<>(n);
        Long seed = request.sampling().seed();
        for (int i = 0; i < n; i++) {
            out.add(
                    seed == null
                            ? request
                            : request.withSampling(request.sampling().withSeed(seed + i)));
        }
        return out;
    }

    /**
     * One body from n one-choice bodies: the first's id and fields, every choice renumbered, usage
     * with the prompt once. A body that is an error (not an answer) is returned as it is.
     */
    static Object merge(List<Object> bodies, int n) {
        ObjectNode first = OpenAiJson.MAPPER.valueToTree(bodies.getFirst());
        if (!first.has("choices")) {
            return bodies.getFirst();
        }
        ArrayNode choices = OpenAiJson.MAPPER.createArrayNode();
        int completion = 0;
        int prompt = 0;
        for (int i = 0; i < bodies.size(); i++) {
            JsonNode body = i == 0 ? first : OpenAiJson.MAPPER.valueToTree(bodies.get(i));
            if (!body.has("choices")) {
                return bodies.get(i);
            }
            for (JsonNode c : body.get("choices")) {
                ObjectNode copy = c.deepCopy();
                copy.put("index", i);
                choices.add(copy);
            }
            completion += body.path("usage").path("completion_tokens").asInt();
            if (i % n == 0) {
                prompt += body.path("usage").path("prompt_tokens").asInt();
            }
        }
        first.set("choices", choices);
        if (first.get("usage") instanceof ObjectNode usage) {
            usage.put("prompt_tokens", prompt);
            usage.put("completion_tokens", completion);
            usage.put("total_tokens", prompt + completion);
        }
        return first;
    }

    /**
     * The n SSE bodies as one: chunks re-indexed by choice, each body's own usage chunk and
     * {@code [DONE]} held back, then one usage chunk (if {@code includeUsage}) and one {@code [DONE]}.
     */
    static Source<ByteString, NotUsed> streamed(List<Source<ByteString, NotUsed>> bodies, int n, boolean includeUsage) {
        // prompt tokens (once), completion tokens (summed), cached prompt tokens (once); the last
        // usage chunk seen is the template the merged one is written from.
        AtomicIntegerArray usage = new AtomicIntegerArray(3);
        ObjectNode[] template = new ObjectNode[1];
        // Each body was written as its own answer, with its own id: the first id seen names them all.
        java.util.concurrent.atomic.AtomicReference<String> id = new java.util.concurrent.atomic.AtomicReference<>();
        List<Source<ByteString, NotUsed>> indexed = new ArrayList<>(n);
        for (int i = 0; i < bodies.size(); i++) {
            int index = i;
            indexed.add(bodies.get(i).mapConcat(bytes -> reindex(bytes, index, index % n == 0, usage, template, id)));
        }
        Source<ByteString, NotUsed> merged = Source.from(indexed).flatMapMerge(indexed.size(), s -> s);
        // The tail is written when the merged bodies complete (not from a concatenated source, which
        // Akka may start before they have).
        return merged.statefulMap(() -> template, (t, bytes) -> akka.japi.Pair.create(t, bytes), t -> {
            ByteString tail = ByteString.emptyByteString();
            synchronized (t) {
                if (includeUsage && t[0] != null) {
                    ObjectNode u = (ObjectNode) t[0].get("usage");
                    int completion = usage.get(1);
                    u.put("prompt_tokens", usage.get(0));
                    u.put("completion_tokens", completion);
                    u.put("total_tokens", usage.get(0) + completion);
                    tail = SseEncoding.frame(t[0]);
                }
            }
            return java.util.Optional.of(tail.concat(SseEncoding.DONE));
        });
    }

    /** One body's bytes with its frames re-indexed, usage and [DONE] held back. */
    private static List<ByteString> reindex(
            ByteString bytes,
            int index,
            boolean countsPrompt,
            AtomicIntegerArray usage,
            ObjectNode[] template,
            java.util.concurrent.atomic.AtomicReference<String> id) {
        List<ByteString> out = new ArrayList<>();
        for (String frame : bytes.utf8String().split("\n\n")) {
            if (frame.isEmpty()) {
                continue;
            }
            if (!frame.startsWith("data: ")) {
                out.add(ByteString.fromString(frame + "\n\n")); // a keep-alive comment
                continue;
            }
            String data = frame.substring("data: ".length());
            if (data.equals("[DONE]")) {
                continue;
            }
            JsonNode json = parse(data);
            if (json instanceof ObjectNode chunk && chunk.get("choices") instanceof ArrayNode choices) {
                id.compareAndSet(null, chunk.path("id").asText());
                chunk.put("id", id.get());
                if (choices.isEmpty() && chunk.has("usage")) {
                    JsonNode u = chunk.get("usage");
                    if (countsPrompt) {
                        usage.addAndGet(0, u.path("prompt_tokens").asInt());
                    }
                    usage.addAndGet(1, u.path("completion_tokens").asInt());
                    synchronized (template) {
                        if (index == 0 || template[0] == null) {
                            template[0] = chunk;
                        }
                    }
                    continue;
                }
                for (JsonNode c : choices) {
                    ((ObjectNode) c).put("index", index);
                }
                out.add(SseEncoding.frame(chunk));
            } else {
                out.add(ByteString.fromString(frame + "\n\n")); // an error event: passed on as it is
            }
        }
        return out;
    }

    private static JsonNode parse(String data) {
        try {
            return OpenAiJson.MAPPER.readTree(data.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("a chunk this server wrote does not parse", e);
        }
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() <= 20 ? s : s.substring(0, 20) + "...";
    }
}
