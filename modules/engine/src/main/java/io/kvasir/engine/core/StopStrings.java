package io.kvasir.engine.core;

import io.kvasir.engine.tokenizer.StreamingDetokenizer;
import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.List;

/**
 * A request's output text on its way to the client, with stop strings applied. Text that could be
 * the start of a stop string is held back until the next tokens decide it; when a stop string
 * completes, the text before it is released and the stop string itself never is. Since held-back
 * text always covers a possible match's start, a match can never straddle released text.
 */
final class StopStrings {

    private final StreamingDetokenizer detokenizer;
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    StopStrings(Tokenizer tokenizer, List<String> stops) {
        this.detokenizer = new StreamingDetokenizer(tokenizer);
        this.stops = stops;
    }

    /** Whether a stop string has matched; the request must end. */
    boolean stopped() {
        return stopped;
    }

    /** Adds a generated token; returns the text that can be released now. */
    String push(int tokenId) {
        return push(tokenId, true);
    }

    /**
     * Adds a generated token; with {@code armed} false (the request has not reached its {@code
     * min_tokens}) no stop string may end it yet, so a complete one is released as text, while the
     * start of one at the very end is still held back: a stop string that the first armed token
     * completes ends the request, as in vLLM, which checks the text the new token adds together with
     * the stop string's length before it.
     */
    String push(int tokenId, boolean armed) {
        if (stopped) {
            throw new IllegalStateException("token after a stop string");
        }
        pending.append(detokenizer.push(tokenId));
        return release(false, armed);
    }

    /** The request ends for another reason: releases everything held back. */
    String finish() {
        if (stopped) {
            return "";
        }
        pending.append(detokenizer.flush());
        return release(true, true);
    }

    /** @param armed whether a complete stop string ends the request (false before min_tokens) */
    private String release(boolean all, boolean armed) {
        int match = armed ? firstMatch() : -1;
        if (match >= 0) {
            stopped = true;
            String out = pending.substring(0, match);
            pending.setLength(0);
            return out;
        }
        int cut = all ? pending.length() : pending.length() - heldBack();
        String out = pending.substring(0, cut);
        pending.delete(0, cut);
        return out;
    }

    private int firstMatch() {
        int first = -1;
        for (String s : stops) {
            int i = pending.indexOf(s);
            if (i >= 0 && (first < 0 || i < first)) {
                first = i;
            }
        }
        return first;
    }

    /** Length of the longest end of the pending text that begins some stop string. */
    private int heldBack() {
        String text = pending.toString();
        int hold = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, text.length()); k > hold; k--) {
                if (text.regionMatches(text.length() - k, s, 0, k)) {
                    hold = k;
                    break;
                }
            }
        }
        return hold;
    }
}
