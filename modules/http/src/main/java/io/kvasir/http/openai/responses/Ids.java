package io.kvasir.http.openai.responses;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids of the Responses API's objects, each a prefix (as OpenAI's) and random bits: 128 for a
 * response, whose id is a capability (who knows it may continue it, within its scope), 96 for items.
 */
final class Ids {

    private static final SecureRandom SECURE = new SecureRandom();

    private Ids() {}

    static String response() {
        byte[] bits = new byte[16];
        SECURE.nextBytes(bits);
        return "resp_" + HexFormat.of().formatHex(bits);
    }

    static String message() {
        return "msg_" + bits96();
    }

    static String functionCall() {
        return "fc_" + bits96();
    }

    static String functionCallOutput() {
        return "fco_" + bits96();
    }

    static String call() {
        return "call_" + bits96();
    }

    private static String bits96() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return HexFormat.of().toHexDigits(random.nextLong()) + HexFormat.of().toHexDigits(random.nextInt());
    }
}
