package io.kvasir.engine.chat;

/** One turn of a conversation: role ({@code system}, {@code user}, {@code assistant}, ...) and text. */
public record ChatMessage(String role, String content) {}
