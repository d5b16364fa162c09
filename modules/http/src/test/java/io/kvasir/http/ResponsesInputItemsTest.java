package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/responses/{id}/input_items}: OpenAI's cursor paging ({@code limit}, {@code order},
 * {@code after}, {@code before}) over one stored response with five input items, and a 400 naming
 * the parameter for a query that cannot be served.
 */
class ResponsesInputItemsTest {

    private static TestServer server;
    private static String responseId;
    /** The input items' ids in the order they were given. */
    private static List<String> ids;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.api();
        server.fabric.script(FakeFabric.reply("ok"));
        StringBuilder input = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            input.append(i > 0 ? ", " : "")
                    .append("{\"role\": \"user\", \"content\": \"m")
                    .append(i)
                    .append("\"}");
        }
        HttpResponse<String> made =
                server.post("/v1/responses", "{\"model\": \"" + FakeFabric.MODEL + "\", \"input\": [" + input + "]}");
        assertThat(made.statusCode()).as(made.body()).isEqualTo(200);
        responseId = OpenAiJson.MAPPER.readTree(made.body()).get("id").asText();
        ids = ids(list("?order=asc&limit=100").get("data"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<String> get(String query) throws Exception {
        return server.get(server.base() + "/v1/responses/" + responseId + "/input_items" + query);
    }

    private static JsonNode list(String query) throws Exception {
        HttpResponse<String> response = get(query);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode page = OpenAiJson.MAPPER.readTree(response.body());
        assertThat(page.get("object").asText()).isEqualTo("list");
        return page;
    }

    private static List<String> ids(JsonNode data) {
        List<String> out = new ArrayList<>();
        data.forEach(item -> out.add(item.get("id").asText()));
        return out;
    }

    /** The ids of the page's items, checked against its first_id, last_id and has_more. */
    private static List<String> page(String query, boolean hasMore) throws Exception {
        JsonNode page = list(query);
        List<String> data = ids(page.get("data"));
        assertThat(page.get("has_more").asBoolean()).as(query).isEqualTo(hasMore);
        assertThat(page.get("first_id").asText(null)).isEqualTo(data.isEmpty() ? null : data.getFirst());
        assertThat(page.get("last_id").asText(null)).isEqualTo(data.isEmpty() ? null : data.getLast());
        return data;
    }

    @Test
    void theItemsAreStoredInTheOrderGiven() throws Exception {
        JsonNode data = list("?order=asc").get("data");
        assertThat(ids).hasSize(5).doesNotHaveDuplicates();
        for (int i = 0; i < 5; i++) {
            assertThat(data.get(i).at("/content/0/text").asText()).isEqualTo("m" + i);
        }
    }

    @Test
    void byDefaultNewestFirstAndAllOfFive() throws Exception {
        assertThat(page("", false)).isEqualTo(ids.reversed());
    }

    @Test
    void limitAndAfterPageForwardInEitherOrder() throws Exception {
        assertThat(page("?order=asc&limit=2", true)).containsExactly(ids.get(0), ids.get(1));
        assertThat(page("?order=asc&limit=2&after=" + ids.get(1), true)).containsExactly(ids.get(2), ids.get(3));
        assertThat(page("?order=asc&limit=2&after=" + ids.get(3), false)).containsExactly(ids.get(4));
        assertThat(page("?order=asc&after=" + ids.get(4), false)).isEmpty();

        assertThat(page("?limit=2", true)).containsExactly(ids.get(4), ids.get(3));
        assertThat(page("?order=desc&limit=2&after=" + ids.get(3), true)).containsExactly(ids.get(2), ids.get(1));
        assertThat(page("?limit=2&after=" + ids.get(1), false)).containsExactly(ids.get(0));
    }

    @Test
    void beforePagesBackTowardsTheStart() throws Exception {
        assertThat(page("?order=asc&limit=2&before=" + ids.get(4), true)).containsExactly(ids.get(2), ids.get(3));
        assertThat(page("?order=asc&limit=2&before=" + ids.get(2), false)).containsExactly(ids.get(0), ids.get(1));
        assertThat(page("?order=asc&after=" + ids.get(0) + "&before=" + ids.get(3), false))
                .containsExactly(ids.get(1), ids.get(2));
    }

    @Test
    void aMalformedQueryIsA400NamingTheParameter() throws Exception {
        for (String limit : List.of("0", "101", "-3", "abc", "2.5", "99999999999")) {
            String message = ErrorShape.assertError(get("?limit=" + limit), 400, "limit")
                    .get("message")
                    .asText();
            assertThat(message).contains(limit);
        }
        ErrorShape.assertError(get("?order=newest"), 400, "order");
        ErrorShape.assertError(get("?order=ASC"), 400, "order");
        ErrorShape.assertError(get("?after=msg_nope"), 400, "after");
        ErrorShape.assertError(get("?before=msg_nope"), 400, "before");
        assertThat(ErrorShape.assertError(get("?after=msg_nope"), 400, "after")
                        .get("type")
                        .asText())
                .isEqualTo("invalid_request_error");
        // The bounds themselves are allowed.
        assertThat(page("?limit=1", true)).hasSize(1);
        assertThat(page("?limit=100", false)).hasSize(5);
    }
}
