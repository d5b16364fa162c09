package io.kvasir.engine.chat;

/**
 * One function call an assistant made, as a client sends it back in the history.
 *
 * @param id        the call's id, which the {@code tool} turn answering it names
 * @param name      the function's name
 * @param arguments the arguments as JSON text (OpenAI sends them as a string)
 */
public record ToolCall(String id, String name, String arguments) {}
