package io.kvasir.http.openai;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/** Ids for the function calls in an answer: {@code call_} and 96 random bits, as OpenAI's look. */
final class ToolCallIds {

    private ToolCallIds() {}

    static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return "call_" + HexFormat.of().toHexDigits(random.nextLong())
                + HexFormat.of().toHexDigits(random.nextInt());
    }
}
