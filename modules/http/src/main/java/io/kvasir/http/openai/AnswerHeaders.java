package io.kvasir.http.openai;

import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.headers.RawHeader;
import java.util.ArrayList;
import java.util.List;

/**
 * Response headers that tell a client where its answer came from: {@code X-Kvasir-Replica} (the
 * replica that generated it) and {@code X-Session-Id} (the session its KV cache is kept under,
 * whether the client named it in the header, in {@code metadata.session_id} or as {@code user}),
 * and {@code X-Kvasir-Model} (the served model that answered, which for a tiered id is one of its
 * tiers).
 */
final class AnswerHeaders {

    static final String REPLICA = "X-Kvasir-Replica";
    static final String SESSION = "X-Session-Id";
    static final String MODEL = "X-Kvasir-Model";
    private static final int MAX_VALUE_LENGTH = 256;

    private AnswerHeaders() {}

    static List<HttpHeader> of(String replica, String sessionId) {
        return of(replica, sessionId, null);
    }

    static List<HttpHeader> of(String replica, String sessionId, String model) {
        List<HttpHeader> headers = new ArrayList<>(3);
        if (safe(model)) {
            headers.add(RawHeader.create(MODEL, model));
        }
        if (safe(replica)) {
            headers.add(RawHeader.create(REPLICA, replica));
        }
        if (safe(sessionId)) {
            headers.add(RawHeader.create(SESSION, sessionId));
        }
        return headers;
    }

    /**
     * A session id can come from the JSON body, where anything goes: only short printable ASCII is
     * echoed, so no client value can break the response's header block. Others are left out.
     */
    private static boolean safe(String value) {
        if (value == null || value.isEmpty() || value.length() > MAX_VALUE_LENGTH) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }
}
