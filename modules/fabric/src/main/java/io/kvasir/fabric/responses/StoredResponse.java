package io.kvasir.fabric.responses;

import io.kvasir.fabric.CborSerializable;

/**
 * One stored answer of the Responses API, as every gateway node keeps it. The edge owns the JSON
 * shapes: the fabric stores them as text and never reads them, so the wire format of the store
 * does not change when the API's objects do.
 *
 * @param id                 the response's id ({@code resp_...})
 * @param owner              the caller's isolation scope ("" for the shared one): another scope
 *                           neither sees nor deletes it
 * @param createdAtMillis    when it was made; retention counts from here
 * @param previousResponseId the response it continued, or null: its history is that one's history,
 *                           input and output, then this one's
 * @param sessionId          the KV-cache session its conversation runs in, so a follow-up lands on
 *                           the replica that holds the conversation's blocks
 * @param inputJson          this request's own input items (JSON array), without the history
 * @param responseJson       the response object as it was answered (JSON)
 */
public record StoredResponse(
        String id,
        String owner,
        long createdAtMillis,
        String previousResponseId,
        String sessionId,
        String inputJson,
        String responseJson)
        implements CborSerializable {

    /** What the size bound counts: the text held (UTF-16 chars approximate bytes well enough for a bound). */
    public long bytes() {
        return 64L
                + id.length()
                + owner.length()
                + inputJson.length()
                + responseJson.length()
                + (previousResponseId == null ? 0 : previousResponseId.length())
                + (sessionId == null ? 0 : sessionId.length());
    }
}
