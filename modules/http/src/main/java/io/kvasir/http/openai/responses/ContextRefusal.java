package io.kvasir.http.openai.responses;

import io.kvasir.http.ApiError;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fabric's "context length exceeded" refusal in the Responses API's terms. The fabric words it
 * for chat (the tokens "in the messages", param {@code messages}); a Responses client has
 * {@code input} and {@code max_output_tokens}, and the param names the one to change:
 * {@code max_output_tokens} when the input fits the context and only the output asked for does not,
 * else {@code input}. The figures come from the refusal's text, in the wording vLLM made common and
 * Kvasir's engine and its check of external engines share; a refusal worded otherwise names
 * {@code input} and keeps its text.
 */
final class ContextRefusal {

    static final String CODE = "context_length_exceeded";

    private static final Pattern CONTEXT = Pattern.compile("maximum context length is (\\d+) tokens");
    private static final Pattern INPUT = Pattern.compile("\\((\\d+) in the (?:messages|prompt)");

    private ContextRefusal() {}

    /** {@code error} reworded when it is a context-length refusal; any other error unchanged. */
    static ApiError inResponsesTerms(ApiError error, Integer maxOutputTokens) {
        if (!CODE.equals(error.code())) {
            return error;
        }
        long context = figure(CONTEXT, error.message());
        long input = figure(INPUT, error.message());
        String message;
        String param;
        if (context < 0 || input < 0) {
            message = error.message().replace("messages", "input");
            param = "input";
        } else if (maxOutputTokens != null && input < context) {
            message = "'max_output_tokens' is " + maxOutputTokens + ", but this model's context of " + context
                    + " tokens holds the input's " + input + " tokens and at most " + (context - input)
                    + " more; ask for fewer output tokens.";
            param = "max_output_tokens";
        } else {
            message = "The input is " + input + " tokens, which this model's context of " + context
                    + " tokens cannot hold with room to answer; shorten the input (or the conversation it continues).";
            param = "input";
        }
        return new ApiError(error.status(), message, error.type(), param, error.code(), error.retryAfterSeconds());
    }

    /** The number the pattern's group reads, or -1 when the text has none. */
    private static long figure(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        if (!m.find()) {
            return -1;
        }
        try {
            return Long.parseLong(m.group(1));
        } catch (NumberFormatException tooLong) {
            return -1;
        }
    }
}
