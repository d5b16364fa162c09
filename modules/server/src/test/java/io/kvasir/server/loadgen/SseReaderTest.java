package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseReaderTest {

    private final ObjectMapper mapper = new ObjectMapper();

    private static List<SseReader.Event> feedInPieces(String stream, int pieceSize) {
        List<SseReader.Event> events = new ArrayList<>();
        SseReader reader = new SseReader(e -> events.add(e));
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i += pieceSize) {
            reader.feed(bytes, i, Math.min(pieceSize, bytes.length - i));
        }
        reader.finish();
        return events;
    }

    @Test
    void eventsSplitAcrossReadsAreReassembledWhateverTheSplit() {
        String stream = "data: {\"choices\":[{\"delta\":{\"content\":\"héllo\"}}]}\n\n"
                + ": keep-alive\n\n"
                + "data: {\"choices\":[{\"delta\":{\"content\":\" wörld ✓\"}}]}\r\n\r\n"
                + "data: [DONE]\n\n";
        for (int piece : new int[] {1, 2, 3, 7, 1000}) {
            List<SseReader.Event> events = feedInPieces(stream, piece);
            assertThat(events)
                    .as("piece size %d", piece)
                    .extracting(SseReader.Event::data)
                    .containsExactly(
                            "{\"choices\":[{\"delta\":{\"content\":\"héllo\"}}]}",
                            "{\"choices\":[{\"delta\":{\"content\":\" wörld ✓\"}}]}",
                            "[DONE]");
        }
    }

    @Test
    void multiLineDataIsJoinedAndEventTypeIsKept() {
        List<SseReader.Event> events = feedInPieces("event: error\ndata: line one\ndata:line two\n\n", 4);
        assertThat(events).containsExactly(new SseReader.Event("error", "line one\nline two"));
    }

    @Test
    void finalEventWithoutBlankLineIsStillDelivered() {
        assertThat(feedInPieces("data: [DONE]", 5))
                .extracting(SseReader.Event::data)
                .containsExactly("[DONE]");
    }

    @Test
    void readAllStopsDeliveringAfterListenerSaysStopButDrainsTheStream() throws IOException {
        byte[] bytes = "data: a\n\ndata: [DONE]\n\ndata: after\n\n".getBytes(StandardCharsets.UTF_8);
        ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        List<String> seen = new ArrayList<>();
        SseReader.readAll(trickle(in), e -> {
            seen.add(e.data());
            return !e.data().equals("[DONE]");
        });
        assertThat(seen).containsExactly("a", "[DONE]");
        assertThat(in.available()).isZero();
    }

    @Test
    void chunksAreClassifiedAsContentUsageDoneOrError() {
        ChatChunk content = parse("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}");
        assertThat(content.hasContent()).isTrue();
        assertThat(content.content()).isEqualTo("Hi");

        ChatChunk roleOnly = parse("{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":null}}]}");
        assertThat(roleOnly.hasContent()).isFalse();
        assertThat(roleOnly.error()).isNull();

        ChatChunk usage = parse("{\"choices\":[],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":9,"
                + "\"prompt_tokens_details\":{\"cached_tokens\":32}}}");
        assertThat(usage.usage()).isEqualTo(new ChatChunk.Usage(40, 9, 32));
        assertThat(parse("{\"choices\":[],\"usage\":{\"completion_tokens\":3}}").usage())
                .isEqualTo(new ChatChunk.Usage(-1, 3, -1));

        assertThat(ChatChunk.parse(new SseReader.Event("message", " [DONE] "), mapper)
                        .done())
                .isTrue();

        assertThat(parse("{\"error\":{\"message\":\"model overloaded\",\"code\":503}}")
                        .error())
                .isEqualTo("model overloaded");
        assertThat(ChatChunk.parse(new SseReader.Event("error", "{\"detail\":\"boom\"}"), mapper)
                        .error())
                .contains("boom");
        assertThat(parse("not json").error()).contains("unparseable");
    }

    private ChatChunk parse(String data) {
        return ChatChunk.parse(new SseReader.Event("message", data), mapper);
    }

    /** An input stream that hands out at most three bytes per read, like a slow network. */
    private static InputStream trickle(InputStream in) {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return in.read(b, off, Math.min(len, 3));
            }
        };
    }
}
