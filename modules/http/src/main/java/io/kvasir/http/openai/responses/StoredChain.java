package io.kvasir.http.openai.responses;

import akka.http.javadsl.model.StatusCodes;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.responses.ResponseStore;
import io.kvasir.fabric.responses.StoredResponse;
import io.kvasir.http.ApiError;
import io.kvasir.http.openai.OpenAiJson;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The conversation a stored response ends: each stored response holds only its own input and
 * output and names the one it continued, so the history is read by walking that chain back to its
 * start (a conversation of n turns stores n turns, not n squared). Every link must still be there:
 * a conversation with a lost middle would be answered as if it had never happened.
 *
 * @param last  the response being continued
 * @param items every input and output item of the conversation, oldest first
 */
record StoredChain(StoredResponse last, List<JsonNode> items) {

    /** Longest chain followed; far beyond any agent loop, it stops a walk that should never be this long. */
    static final int MAX_LINKS = 1000;

    static CompletionStage<StoredChain> load(ResponseStore store, String owner, String previousId) {
        return store.get(owner, previousId).thenCompose(found -> {
            if (found.isEmpty()) {
                throw notFound("Previous response with id '" + previousId + "' not found.", "previous_response_id");
            }
            List<StoredResponse> chain = new ArrayList<>();
            chain.add(found.get());
            return walk(store, owner, chain).thenApply(all -> {
                Collections.reverse(all);
                List<JsonNode> items = new ArrayList<>();
                for (StoredResponse r : all) {
                    parse(r.inputJson()).forEach(items::add);
                    parse(r.responseJson()).path("output").forEach(items::add);
                }
                return new StoredChain(found.get(), items);
            });
        });
    }

    private static CompletionStage<List<StoredResponse>> walk(
            ResponseStore store, String owner, List<StoredResponse> chain) {
        String parent = chain.getLast().previousResponseId();
        if (parent == null) {
            return CompletableFuture.completedFuture(chain);
        }
        if (chain.size() >= MAX_LINKS) {
            throw ApiError.invalid(
                            "The conversation is longer than " + MAX_LINKS + " responses; start a new one.",
                            "previous_response_id")
                    .toException();
        }
        return store.get(owner, parent).thenCompose(found -> {
            if (found.isEmpty()) {
                throw notFound(
                        "The conversation of '" + chain.getFirst().id() + "' is no longer complete: its earlier"
                                + " response '" + parent + "' was deleted or has expired.",
                        "previous_response_id");
            }
            chain.add(found.get());
            return walk(store, owner, chain);
        });
    }

    static ApiError.ApiException notFound(String message, String param) {
        return new ApiError(StatusCodes.NOT_FOUND, message, ApiError.INVALID_REQUEST, param, "not_found", 0)
                .toException();
    }

    static JsonNode parse(String json) {
        try {
            return OpenAiJson.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored response is not JSON", e);
        }
    }
}
