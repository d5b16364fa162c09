package io.kvasir.http.openai.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The query of {@code GET /v1/responses/{id}/input_items}: OpenAI's cursor paging over a response's
 * input items. {@code order} is {@code desc} (newest first) unless {@code asc}; {@code after} and
 * {@code before} name items, and the page holds the items strictly between them in that order, at
 * most {@code limit} (1 to 100, default 20). With {@code before} alone the page is the one that ends
 * next to it (paging back), otherwise the one that starts there; {@code has_more} says whether
 * items were left out on the side paged towards.
 *
 * @param after  an item id, or null: from the start
 * @param before an item id, or null: to the end
 */
record InputItemsPage(int limit, boolean ascending, String after, String before) {

    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 100;

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** The query read and checked: a malformed one is a 400 naming the parameter. */
    static InputItemsPage read(Map<String, String> query) {
        int limit = DEFAULT_LIMIT;
        String given = query.get("limit");
        if (given != null) {
            try {
                limit = Integer.parseInt(given);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_LIMIT) {
                throw InputItems.invalid(
                        "'limit' must be an integer from 1 to " + MAX_LIMIT + ", got '" + given + "'.", "limit");
            }
        }
        String order = query.getOrDefault("order", "desc");
        if (!order.equals("asc") && !order.equals("desc")) {
            throw InputItems.invalid("'order' must be 'asc' or 'desc', got '" + order + "'.", "order");
        }
        return new InputItemsPage(limit, order.equals("asc"), query.get("after"), query.get("before"));
    }

    /** The list object for {@code items}, the response's input items in the order they were given. */
    ObjectNode of(List<JsonNode> items) {
        List<JsonNode> ordered = new ArrayList<>(items);
        if (!ascending) {
            Collections.reverse(ordered);
        }
        int from = after == null ? 0 : indexOf(ordered, after, "after") + 1;
        int to = before == null ? ordered.size() : Math.max(from, indexOf(ordered, before, "before"));
        List<JsonNode> between = ordered.subList(from, to);
        boolean back = before != null && after == null;
        List<JsonNode> data = between.size() <= limit
                ? between
                : back ? between.subList(between.size() - limit, between.size()) : between.subList(0, limit);

        ObjectNode page = NODES.objectNode();
        page.put("object", "list");
        page.set("data", NODES.arrayNode().addAll(data));
        page.put("first_id", data.isEmpty() ? null : id(data.getFirst()));
        page.put("last_id", data.isEmpty() ? null : id(data.getLast()));
        page.put("has_more", between.size() > limit);
        return page;
    }

    private static int indexOf(List<JsonNode> items, String id, String param) {
        for (int i = 0; i < items.size(); i++) {
            if (id.equals(id(items.get(i)))) {
                return i;
            }
        }
        throw InputItems.invalid(
                "'" + param + "' must name an input item of this response; '" + id + "' does not.", param);
    }

    private static String id(JsonNode item) {
        return item.path("id").asText();
    }
}
