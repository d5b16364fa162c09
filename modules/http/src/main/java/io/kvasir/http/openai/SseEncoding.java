package io.kvasir.http.openai;

import akka.NotUsed;
import akka.japi.Pair;
import akka.japi.pf.PFBuilder;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.ApiError;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.openai.tools.ParsedToolCalls;
import io.kvasir.http.openai.tools.ToolStream;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server-sent events in the OpenAI framing: one {@code data: <json>\n\n} per chunk, then
 * {@code data: [DONE]\n\n}. The output is a plain transformation of the fabric's source, element by
 * element, so the client's demand is the fabric's demand and a client that goes away cancels the
 * generation. A failure once the 200 is out can only be told in-band: an error event, then [DONE].
 */
public final class SseEncoding {

    public static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");
    /** An SSE comment: ignored by clients, keeps proxies and idle timeouts from closing a quiet stream. */
    public static final ByteString KEEP_ALIVE = ByteString.fromString(": keep-alive\n\n");

    private static final ByteString DATA = ByteString.fromString("data: ");
    private static final ByteString END = ByteString.fromString("\n\n");
    private static final Logger log = LoggerFactory.getLogger(SseEncoding.class);

    private SseEncoding() {}

    /**
     * The response body for one streamed answer. {@code events} is the rest of the fabric's stream
     * after its {@code Started} event.
     */
    public static Source<ByteString, NotUsed> encode(
            Answer answer, Source<GenerationEvent, NotUsed> events, Duration keepAlive) {
        return encode(answer, events, keepAlive, 0);
    }

    /**
     * As {@link #encode(Answer, Source, Duration)}, for an answer whose text does not start at 0 (a
     * legacy completion that echoed its prompt first): the tokens' text offsets count from {@code
     * textOffset}.
     */
    public static Source<ByteString, NotUsed> encode(
            Answer answer, Source<GenerationEvent, NotUsed> events, Duration keepAlive, int textOffset) {
        Source<ByteString, NotUsed> body = events
                // Stop pulling once the generation has finished: nothing after it is for the client.
                .takeWhile(e -> !(e instanceof GenerationEvent.Finished), true)
                .<Object>map(e -> e)
                // A failure becomes the last element, so the state below writes the stream's end once.
                .recover(new PFBuilder<Throwable, Object>()
                        .match(Throwable.class, StreamFailed::new)
                        .build())
                .statefulMap(
                        () -> new StreamState(answer, textOffset),
                        (state, element) -> Pair.create(state, state.onElement(element)),
                        StreamState::onUpstreamComplete)
                .filter(bytes -> !bytes.isEmpty());
        Source<ByteString, NotUsed> full =
                answer.chat() ? Source.single(frame(answer.roleChunk())).concat(body) : body;
        return full.keepAlive(keepAlive, () -> KEEP_ALIVE);
    }

    /** An error told in-band, followed by [DONE]. */
    public static ByteString errorEvent(ApiError error) {
        return prefixed(ErrorResponses.body(error)).concat(DONE);
    }

    public static ByteString frame(Object json) {
        try {
            return prefixed(OpenAiJson.MAPPER.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a response chunk", e);
        }
    }

    private static ByteString prefixed(byte[] json) {
        return DATA.concat(ByteString.fromArrayUnsafe(json)).concat(END);
    }

    /** The fabric's stream failed after the response began. */
    private record StreamFailed(Throwable cause) {}

    /** Per-stream state: where the text stands and whether the finish was seen. */
    private static final class StreamState {
        private final Answer answer;
        /** Holds back text that may be a function call; null when no tools were offered. */
        private final ToolStream tools;

        private int textOffset;
        private boolean finished;

        StreamState(Answer answer, int textOffset) {
            this.answer = answer;
            this.textOffset = textOffset;
            this.tools = answer.parsesToolCalls() ? new ToolStream(answer.toolCallParser()) : null;
        }

        ByteString onElement(Object element) {
            if (element instanceof StreamFailed failed) {
                finished = true;
                return errorEvent(ErrorResponses.fromThrowable(failed.cause()));
            }
            return switch ((GenerationEvent) element) {
                case GenerationEvent.Started ignored -> ByteString.emptyByteString();
                case GenerationEvent.Token token -> onToken(token);
                case GenerationEvent.Finished done -> onFinished(done);
            };
        }

        private ByteString onToken(GenerationEvent.Token token) {
            if (tools != null) {
                // Content only: a token's logprobs cannot follow text that is held back or becomes a call.
                String text = tools.onText(token.text());
                return text.isEmpty() ? ByteString.emptyByteString() : frame(answer.contentChunk(text));
            }
            if (token.text().isEmpty() && !answer.logprobs()) {
                return ByteString.emptyByteString();
            }
            ByteString out = frame(answer.tokenChunk(token, textOffset));
            textOffset += token.text().length();
            return out;
        }

        private ByteString onFinished(GenerationEvent.Finished done) {
            finished = true;
            if (done.reason() == FinishReason.ERROR) {
                log.warn("Generation {} ended with an engine error after the response started", answer.id());
                return errorEvent(ApiError.internal());
            }
            ByteStringBuilder out = new ByteStringBuilder();
            boolean cut = done.reason() == FinishReason.LENGTH;
            ParsedToolCalls parsed = tools == null ? null : tools.finish(cut);
            if (parsed != null && parsed.content() != null) {
                out.append(frame(answer.contentChunk(parsed.content())));
            }
            if (parsed != null && parsed.hasCalls()) {
                for (int i = 0; i < parsed.calls().size(); i++) {
                    answer.toolCallChunks(i, parsed.calls().get(i)).forEach(c -> out.append(frame(c)));
                }
                out.append(frame(cut ? answer.finishChunk(done) : answer.toolCallsFinishChunk()));
            } else {
                out.append(frame(answer.finishChunk(done)));
            }
            if (answer.includeUsage()) {
                out.append(frame(answer.usageChunk(done)));
            }
            out.append(DONE);
            return out.result();
        }

        Optional<ByteString> onUpstreamComplete() {
            if (finished) {
                return Optional.empty();
            }
            // Also reached when the client cancelled; the element is then dropped, hence debug only.
            log.debug("Generation {} stream ended without a finish event", answer.id());
            return Optional.of(errorEvent(ApiError.internal()));
        }
    }
}
