package io.kvasir.engine.chat;

import java.util.List;

/**
 * One turn of a conversation: role ({@code system}, {@code user}, {@code assistant}, {@code tool})
 * and text, plus what tool calling adds: the calls an assistant turn made, and on a {@code tool}
 * turn the id of the call it answers and the function's name. Plain data: it crosses the cluster.
 *
 * @param toolCalls  the assistant's function calls; null or empty when it made none
 * @param toolCallId for a {@code tool} turn, the call it answers; null otherwise
 * @param name       for a {@code tool} turn, the function's name when the client gave it; null otherwise
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String name) {

    /** A plain turn, without tool calling. */
    public ChatMessage(String role, String content) {
        this(role, content, null, null, null);
    }

    public ChatMessage {
        toolCalls = toolCalls == null || toolCalls.isEmpty() ? null : List.copyOf(toolCalls);
    }

    public boolean hasToolCalls() {
        return toolCalls != null;
    }
}
