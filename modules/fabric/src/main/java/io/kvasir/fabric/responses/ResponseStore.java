package io.kvasir.fabric.responses;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where the Responses API keeps answers made with {@code store: true}, so a later request can
 * continue them ({@code previous_response_id}) or read them back. Every operation is scoped by the
 * caller's owner scope: a response of another scope is as absent as one that never existed.
 */
public interface ResponseStore {

    /**
     * Stores {@code response}; completes when it is as safe as the store makes it (replicated:
     * held by a majority of gateway nodes, or the write timed out and it spreads by gossip).
     */
    CompletionStage<Stored> put(StoredResponse response);

    /** The response with this id in the owner's scope, unless it expired, was evicted or deleted. */
    CompletionStage<Optional<StoredResponse>> get(String owner, String id);

    /** Deletes it; completes with whether there was one (in the owner's scope) to delete. */
    CompletionStage<Boolean> delete(String owner, String id);

    /** How a put ended. */
    enum Stored {
        /** Held where the store promises (every copy it waits for). */
        CONFIRMED,
        /** Held locally only so far (a replicated write timed out); it spreads by gossip. */
        LOCAL_ONLY
    }

    /** A fabric that keeps nothing: every lookup finds nothing. */
    ResponseStore NONE = new ResponseStore() {
        @Override
        public CompletionStage<Stored> put(StoredResponse response) {
            return CompletableFuture.completedFuture(Stored.LOCAL_ONLY);
        }

        @Override
        public CompletionStage<Optional<StoredResponse>> get(String owner, String id) {
            return CompletableFuture.completedFuture(Optional.empty());
        }

        @Override
        public CompletionStage<Boolean> delete(String owner, String id) {
            return CompletableFuture.completedFuture(false);
        }
    };
}
