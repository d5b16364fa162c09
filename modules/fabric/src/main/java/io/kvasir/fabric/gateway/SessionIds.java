package io.kvasir.fabric.gateway;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.GenerationRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A request's session entity id: the id it names, else a hash of the model and the conversation's
 * first turn (system messages and the first user message), which every follow-up turn repeats;
 * prefixed by the request's scope, so the same session id in two scopes names two sessions.
 */
public final class SessionIds {

    private SessionIds() {}

    public static String of(GenerationRequest request) {
        String id = unscoped(request);
        return request.scope() == null ? id : request.scope() + "/" + id;
    }

    private static String unscoped(GenerationRequest request) {
        if (request.sessionId() != null && !request.sessionId().isBlank()) {
            return request.sessionId();
        }
        StringBuilder first = new StringBuilder(request.model()).append('\u0000');
        if (request.isChat()) {
            for (ChatMessage m : request.messages()) {
                first.append(m.role()).append('\u0000').append(m.content()).append('\u0000');
                if ("user".equals(m.role())) {
                    break;
                }
            }
        } else if (request.prompt() != null) {
            first.append(request.prompt());
        } else if (request.promptOptions() != null && request.promptOptions().tokenIds() != null) {
            first.append(java.util.Arrays.toString(request.promptOptions().tokenIds()));
        }
        try {
            byte[] digest =
                    MessageDigest.getInstance("SHA-256").digest(first.toString().getBytes(StandardCharsets.UTF_8));
            return "h-" + HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
