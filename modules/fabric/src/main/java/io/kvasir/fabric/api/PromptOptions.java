package io.kvasir.fabric.api;

/**
 * What a request asks of its prompt beyond generating after it. Null on a request means none of it.
 *
 * @param tokenIds the prompt as token ids, used as they are (no BOS added; the replica checks them
 *                 against its vocabulary); null: the prompt is the request's text or messages
 * @param logprobs -1: no prompt log-probabilities; else each prompt token's log-probability given
 *                 those before it, with this many top alternatives (legacy completions' {@code echo})
 * @param embed    pool the prompt's final hidden states into one unit vector ({@code /v1/embeddings});
 *                 the replica's model decides mean or last-token pooling
 */
public record PromptOptions(int[] tokenIds, int logprobs, boolean embed) {

    public static final PromptOptions NONE = new PromptOptions(null, -1, false);

    public PromptOptions withTokenIds(int[] ids) {
        return new PromptOptions(ids, logprobs, embed);
    }

    public PromptOptions withLogprobs(int top) {
        return new PromptOptions(tokenIds, top, embed);
    }

    public PromptOptions withEmbed(boolean on) {
        return new PromptOptions(tokenIds, logprobs, on);
    }

    /** Whether the prompt's positions must be computed and reported (not generation alone). */
    public boolean scores() {
        return logprobs >= 0 || embed;
    }
}
