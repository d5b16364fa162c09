package io.kvasir.http.openai.responses;

import akka.NotUsed;
import akka.japi.Pair;
import akka.japi.pf.PFBuilder;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.ApiError;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.openai.OpenAiJson;
import io.kvasir.http.openai.tools.ParsedToolCalls;
import io.kvasir.http.openai.tools.ToolCallParser;
import io.kvasir.http.openai.tools.ToolStream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * A response streamed as the Responses API's server-sent events: {@code event: <type>} and
 * {@code data: <json>} with a {@code sequence_number} counting from 0. The text streams as
 * {@code response.output_text.delta}s of one message item; text that may be a function call is held
 * back (as chat's stream does) and, if it is one, sent as a {@code function_call} item when the
 * answer ends. The last event, {@code response.completed} (or {@code .incomplete}), goes out only
 * once the response is stored, so a client that has it can continue it at once from any gateway.
 * Like chat's stream it is a plain transformation of the fabric's source: the client's demand is the
 * engine's, and a client that goes away cancels the generation. When log-probabilities are asked
 * for, each delta carries the entries of the tokens its text completes (see {@link TextLogprobs}),
 * and the done events carry all of them.
 */
final class ResponseStream {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ResponseStream() {}

    /**
     * @param events  the fabric's stream after its {@code Started} event
     * @param parser  finds function calls in the text; null when no tools were offered
     * @param onDone  stores the finished response; its completion releases the last event
     * @param logprobs whether the request included {@code message.output_text.logprobs}
     */
    static Source<ByteString, NotUsed> encode(
            ResponseObject response,
            Source<GenerationEvent, NotUsed> events,
            ToolCallParser parser,
            Function<ObjectNode, CompletionStage<?>> onDone,
            Duration keepAlive,
            boolean logprobs) {
        State start = new State(response, parser, logprobs);
        ByteString head = start.opening();
        Source<ByteString, NotUsed> body = events.takeWhile(e -> !(e instanceof GenerationEvent.Finished), true)
                .<Object>map(e -> e)
                .recover(new PFBuilder<Throwable, Object>()
                        .match(Throwable.class, Failed::new)
                        .build())
                .statefulMap(
                        () -> start,
                        (state, element) -> Pair.create(state, state.onElement(element)),
                        State::onUpstreamComplete)
                .mapAsync(
                        1,
                        out -> out.stored == null
                                ? CompletableFuture.completedFuture(out.bytes)
                                : onDone.apply(out.stored)
                                        .handle((ignored, failure) -> out.bytes)
                                        .toCompletableFuture())
                .filter(bytes -> !bytes.isEmpty());
        return Source.single(head).concat(body).keepAlive(keepAlive, () -> ByteString.fromString(": keep-alive\n\n"));
    }

    /** Bytes to send; when {@code stored} is set, only after that finished response has been stored. */
    private record Out(ByteString bytes, ObjectNode stored) {
        static final Out NOTHING = new Out(ByteString.emptyByteString(), null);
    }

    private record Failed(Throwable cause) {}

    private static final class State {
        private final ResponseObject response;
        private final ToolStream tools;
        private final StringBuilder text = new StringBuilder();
        /** Null when log-probabilities were not asked for. */
        private final TextLogprobs logprobs;
        /** The entries the deltas carried so far: what the done events repeat. */
        private final ArrayNode sentLogprobs = NODES.arrayNode();

        private String messageId;
        private long sequence;
        private boolean finished;

        State(ResponseObject response, ToolCallParser parser, boolean logprobs) {
            this.response = response;
            this.tools = parser == null ? null : new ToolStream(parser);
            this.logprobs = logprobs ? new TextLogprobs() : null;
        }

        ByteString opening() {
            ByteStringBuilder out = new ByteStringBuilder();
            ObjectNode created = response.inProgress();
            out.append(event("response.created", NODES.objectNode().set("response", created)));
            out.append(event("response.in_progress", NODES.objectNode().set("response", created)));
            return out.result();
        }

        Out onElement(Object element) {
            if (element instanceof Failed failed) {
                finished = true;
                return new Out(failure(ErrorResponses.fromThrowable(failed.cause())), null);
            }
            return switch ((GenerationEvent) element) {
                case GenerationEvent.Started ignored -> Out.NOTHING;
                case GenerationEvent.Token token -> {
                    if (logprobs != null) {
                        logprobs.add(token);
                    }
                    yield new Out(onText(tools == null ? token.text() : tools.onText(token.text())), null);
                }
                case GenerationEvent.Finished done -> onFinished(done);
            };
        }

        private ByteString onText(String delta) {
            // A token with no text of its own (part of a character) still sends its log-probability.
            ArrayNode ready = logprobs == null ? NODES.arrayNode() : logprobs.take(text.length() + delta.length());
            if (delta.isEmpty() && ready.isEmpty()) {
                return ByteString.emptyByteString();
            }
            ByteStringBuilder out = new ByteStringBuilder();
            if (messageId == null) {
                out.append(openMessage());
            }
            text.append(delta);
            sentLogprobs.addAll(ready);
            ObjectNode e = itemEvent();
            e.put("delta", delta);
            e.set("logprobs", ready);
            out.append(event("response.output_text.delta", e));
            return out.result();
        }

        private ByteString openMessage() {
            messageId = Ids.message();
            ByteStringBuilder out = new ByteStringBuilder();
            ObjectNode added = NODES.objectNode();
            added.put("output_index", 0);
            added.set("item", ResponseObject.message(messageId, null, "in_progress"));
            out.append(event("response.output_item.added", added));
            ObjectNode part = itemEvent();
            part.set("part", ResponseObject.outputText("", NODES.arrayNode()));
            out.append(event("response.content_part.added", part));
            return out.result();
        }

        private ObjectNode itemEvent() {
            ObjectNode e = NODES.objectNode();
            e.put("item_id", messageId);
            e.put("output_index", 0);
            e.put("content_index", 0);
            return e;
        }

        private Out onFinished(GenerationEvent.Finished done) {
            finished = true;
            if (done.reason() == FinishReason.ERROR) {
                return new Out(failure(ApiError.internal()), null);
            }
            ByteStringBuilder out = new ByteStringBuilder();
            boolean cut = done.reason() == FinishReason.LENGTH;
            ParsedToolCalls held = tools == null ? ParsedToolCalls.text(null) : tools.finish(cut);
            if (held.content() != null) {
                out.append(onText(held.content()));
            }
            ArrayNode output = NODES.arrayNode();
            if (messageId != null || !held.hasCalls()) {
                if (messageId == null) {
                    out.append(openMessage());
                }
                String status = cut ? "incomplete" : "completed";
                ObjectNode textDone = itemEvent();
                textDone.put("text", text.toString());
                textDone.set("logprobs", sentLogprobs);
                out.append(event("response.output_text.done", textDone));
                ObjectNode partDone = itemEvent();
                partDone.set("part", ResponseObject.outputText(text.toString(), sentLogprobs));
                out.append(event("response.content_part.done", partDone));
                ObjectNode item = ResponseObject.message(messageId, text.toString(), status, sentLogprobs);
                out.append(event("response.output_item.done", itemDone(0, item)));
                output.add(item);
            }
            for (ParsedToolCalls.Call call : held.calls()) {
                int index = output.size();
                String itemId = Ids.functionCall();
                String callId = Ids.call();
                ObjectNode added = NODES.objectNode();
                added.put("output_index", index);
                added.set("item", ResponseObject.functionCall(itemId, callId, call.name(), "", "in_progress"));
                out.append(event("response.output_item.added", added));
                ObjectNode delta = NODES.objectNode().put("item_id", itemId).put("output_index", index);
                delta.put("delta", call.arguments());
                out.append(event("response.function_call_arguments.delta", delta));
                ObjectNode argsDone = NODES.objectNode().put("item_id", itemId).put("output_index", index);
                argsDone.put("name", call.name());
                argsDone.put("arguments", call.arguments());
                out.append(event("response.function_call_arguments.done", argsDone));
                ObjectNode item = ResponseObject.functionCall(
                        itemId, callId, call.name(), call.arguments(), cut ? "incomplete" : "completed");
                out.append(event("response.output_item.done", itemDone(index, item)));
                output.add(item);
            }
            ObjectNode finishedResponse = response.finished(output, done);
            String type = cut ? "response.incomplete" : "response.completed";
            out.append(event(type, NODES.objectNode().set("response", finishedResponse)));
            return new Out(out.result(), finishedResponse);
        }

        private static ObjectNode itemDone(int index, ObjectNode item) {
            ObjectNode e = NODES.objectNode();
            e.put("output_index", index);
            e.set("item", item);
            return e;
        }

        /** An error told in-band: the error event, then the response as failed. */
        private ByteString failure(ApiError error) {
            ObjectNode e = NODES.objectNode();
            e.put("code", error.code() != null ? error.code() : error.type());
            e.put("message", error.message());
            e.put("param", error.param());
            ByteStringBuilder out = new ByteStringBuilder();
            out.append(event("error", e));
            ObjectNode failed = response.failed(NODES.arrayNode(), "server_error", error.message());
            out.append(event("response.failed", NODES.objectNode().set("response", failed)));
            return out.result();
        }

        Optional<Out> onUpstreamComplete() {
            if (finished) {
                return Optional.empty();
            }
            // Also reached when the client cancelled; the element is then dropped.
            return Optional.of(new Out(failure(ApiError.internal()), null));
        }

        private ByteString event(String type, ObjectNode data) {
            ObjectNode framed = NODES.objectNode();
            framed.put("type", type);
            framed.setAll(data);
            framed.put("sequence_number", sequence++);
            try {
                return ByteString.fromString("event: " + type + "\ndata: ")
                        .concat(ByteString.fromArrayUnsafe(OpenAiJson.MAPPER.writeValueAsBytes(framed)))
                        .concat(ByteString.fromString("\n\n"));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot serialize a response event", e);
            }
        }
    }
}
