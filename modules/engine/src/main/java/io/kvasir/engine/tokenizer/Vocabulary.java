package io.kvasir.engine.tokenizer;

import io.kvasir.engine.gguf.ErrorText;
import io.kvasir.engine.gguf.GgufFile;

/**
 * What a GGUF file says about its tokenizer, with llama.cpp's defaults applied for keys the file
 * leaves out. Ids are -1 when absent or out of range. The arrays are shared, not copied: treat them
 * as read-only (a record holding a 150k-entry vocabulary should not be cloned on every access).
 *
 * @param model         {@code tokenizer.ggml.model}: {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE)
 * @param pre           {@code tokenizer.ggml.pre}, the BPE pre-tokenizer name; {@code "default"} when absent
 * @param tokens        token texts, indexed by id
 * @param scores        SentencePiece merge scores, same length as tokens (zeros when absent)
 * @param tokenTypes    token types ({@link #NORMAL}, {@link #CONTROL}, ...), same length as tokens
 * @param merges        BPE merges ("left right", rank = index); empty for SentencePiece
 * @param chatTemplate  {@code tokenizer.chat_template}, or null
 */
public record Vocabulary(
        String model,
        String pre,
        String[] tokens,
        float[] scores,
        int[] tokenTypes,
        String[] merges,
        int bosId,
        int eosId,
        int unknownId,
        int paddingId,
        int eotId,
        boolean addBos,
        boolean addEos,
        boolean addSpacePrefix,
        String chatTemplate) {

    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;

    public static final String SPM = "llama";
    public static final String BPE = "gpt2";

    public Vocabulary {
        if (model == null || tokens == null) {
            throw new IllegalArgumentException("a vocabulary needs a model name and a token list");
        }
        if (tokens.length == 0) {
            throw new IllegalArgumentException("vocabulary has no tokens");
        }
        pre = pre == null ? "default" : pre;
        scores = scores == null ? new float[tokens.length] : scores;
        if (tokenTypes == null) {
            tokenTypes = new int[tokens.length];
            java.util.Arrays.fill(tokenTypes, NORMAL);
        }
        merges = merges == null ? new String[0] : merges;
        if (scores.length != tokens.length || tokenTypes.length != tokens.length) {
            throw new IllegalArgumentException("vocabulary arrays disagree: " + tokens.length + " tokens, "
                    + scores.length + " scores, " + tokenTypes.length + " token types");
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] == null) {
                throw new IllegalArgumentException("token " + i + " has no text");
            }
        }
        bosId = checkId(bosId, tokens.length);
        eosId = checkId(eosId, tokens.length);
        unknownId = checkId(unknownId, tokens.length);
        paddingId = checkId(paddingId, tokens.length);
        eotId = checkId(eotId, tokens.length);
    }

    public int size() {
        return tokens.length;
    }

    /** Reads the {@code tokenizer.*} keys of a GGUF file. */
    public static Vocabulary fromGguf(GgufFile gguf) {
        String model = gguf.string("tokenizer.ggml.model");
        String pre = gguf.string("tokenizer.ggml.pre", "default");
        String[] tokens = gguf.stringArray("tokenizer.ggml.tokens");
        float[] scores = gguf.has("tokenizer.ggml.scores") ? gguf.floatArray("tokenizer.ggml.scores") : null;
        int[] types = gguf.has("tokenizer.ggml.token_type") ? gguf.intArray("tokenizer.ggml.token_type") : null;
        String[] merges = gguf.has("tokenizer.ggml.merges") ? gguf.stringArray("tokenizer.ggml.merges") : null;
        if (scores != null && scores.length != tokens.length) {
            throw new IllegalArgumentException(
                    gguf.path() + ": " + scores.length + " scores for " + tokens.length + " tokens");
        }
        if (types != null && types.length != tokens.length) {
            throw new IllegalArgumentException(
                    gguf.path() + ": " + types.length + " token types for " + tokens.length + " tokens");
        }
        boolean spm = SPM.equals(model);
        if (!spm && !BPE.equals(model)) {
            throw new IllegalArgumentException(gguf.path() + ": unsupported tokenizer model " + ErrorText.quote(model)
                    + " (supported: llama, gpt2)");
        }
        if (!spm && merges == null) {
            throw new IllegalArgumentException(gguf.path() + ": BPE vocabulary without tokenizer.ggml.merges");
        }
        // llama.cpp's defaults: SentencePiece vocabularies start with BOS and a space prefix; BPE ones
        // neither, except the Llama 3 family whose pre-tokenizer implies BOS.
        boolean defaultBos = spm || PreTokenizer.impliesBos(pre);
        return new Vocabulary(
                model,
                pre,
                tokens,
                scores,
                types,
                merges,
                id(gguf, "tokenizer.ggml.bos_token_id", spm ? 1 : -1),
                id(gguf, "tokenizer.ggml.eos_token_id", spm ? 2 : -1),
                id(gguf, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1),
                id(gguf, "tokenizer.ggml.padding_token_id", -1),
                id(gguf, "tokenizer.ggml.eot_token_id", -1),
                gguf.bool("tokenizer.ggml.add_bos_token", defaultBos),
                gguf.bool("tokenizer.ggml.add_eos_token", false),
                gguf.bool("tokenizer.ggml.add_space_prefix", spm),
                gguf.string("tokenizer.chat_template", null));
    }

    private static int id(GgufFile gguf, String key, int def) {
        long v = gguf.integer(key, def);
        return v < Integer.MIN_VALUE || v > Integer.MAX_VALUE ? -1 : (int) v;
    }

    private static int checkId(int id, int n) {
        return id >= 0 && id < n ? id : -1;
    }
}
