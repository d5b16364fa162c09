package io.kvasir.engine.tokenizer;

import io.kvasir.engine.gguf.ErrorText;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words a byte-level BPE merges within, following the pre-tokenizer named by
 * {@code tokenizer.ggml.pre}. Some pre-tokenizers are a cascade of patterns: each pattern splits the
 * pieces the previous one produced, and text a pattern does not match stays a piece of its own, so
 * nothing is ever dropped. Patterns only see their own piece: a lookahead cannot peek past it.
 *
 * <p>{@code \s} is Unicode White_Space (as in the Hugging Face tokenizers these mimic), hence
 * {@link Pattern#UNICODE_CHARACTER_CLASS}.
 */
final class PreTokenizer {

    private static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    private static final String CONTRACTIONS_ANY_CASE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    private static final String LLAMA3 = CONTRACTIONS_ANY_CASE
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static final String QWEN2 = CONTRACTIONS_ANY_CASE
            + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** The cased letters of DeepSeek LLM's tokenizer.json split rule (Latin, Greek, Cyrillic, ... ranges). */
    private static final String DEEPSEEK_LETTERS =
            "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"
                    + "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}-\\x{377}"
                    + "\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}"
                    + "\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}"
                    + "\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}"
                    + "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
                    + "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}"
                    + "\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}"
                    + "\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}"
                    + "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
                    + "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}"
                    + "\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}"
                    + "\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}"
                    + "\\x{2183}-\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"
                    + "\\x{2CF2}-\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"
                    + "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
                    + "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"
                    + "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}"
                    + "\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}";

    private static final String CJK_HANGUL = "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+";

    private final String name;
    private final List<Pattern> patterns;
    private final boolean ignoreMerges;

    private PreTokenizer(String name, boolean ignoreMerges, String... regexes) {
        this.name = name;
        this.ignoreMerges = ignoreMerges;
        this.patterns = new ArrayList<>();
        for (String r : regexes) {
            patterns.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
        }
    }

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value; unknown names are an error. */
    static PreTokenizer forName(String pre) {
        String p = pre == null ? "default" : pre;
        return switch (p) {
            case "default" ->
                new PreTokenizer(p, false, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> new PreTokenizer(p, true, LLAMA3);
            case "dbrx", "smaug-bpe", "chatglm-bpe" -> new PreTokenizer(p, false, LLAMA3);
            case "qwen2", "stablelm2", "megrez" -> new PreTokenizer(p, false, QWEN2);
            case "deepseek-llm" ->
                new PreTokenizer(
                        p,
                        false,
                        "[\\r\\n]",
                        "\\s?[" + DEEPSEEK_LETTERS + "]+",
                        "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
                        "\\s+\\z",
                        CJK_HANGUL,
                        "\\p{N}+");
            case "deepseek-coder" ->
                new PreTokenizer(p, false, "[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK_HANGUL, "\\p{N}");
            case "falcon" -> new PreTokenizer(p, false, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" ->
                new PreTokenizer(p, false, "\\p{N}", GPT2);
            case "gpt-2",
                    "gpt2",
                    "phi-2",
                    "roberta-bpe",
                    "mpt",
                    "olmo",
                    "jais",
                    "gigachat",
                    "jina-es",
                    "jina-de",
                    "jina-v1-en",
                    "jina-v2-es",
                    "jina-v2-de",
                    "jina-v2-code" -> new PreTokenizer(p, false, GPT2);
            default ->
                throw new IllegalArgumentException("unsupported BPE pre-tokenizer " + ErrorText.quote(p)
                        + " (tokenizer.ggml.pre); supported include default, gpt-2, llama-bpe, qwen2, "
                        + "deepseek-llm, deepseek-coder, starcoder, mpt, falcon");
        };
    }

    /** Whether vocabularies with this pre-tokenizer want BOS unless the file says otherwise (Llama 3). */
    static boolean impliesBos(String pre) {
        return switch (pre == null ? "" : pre) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> true;
            default -> false;
        };
    }

    String name() {
        return name;
    }

    /** Whether a word that is itself a token is taken whole, before any merging (Llama 3). */
    boolean ignoreMerges() {
        return ignoreMerges;
    }

    /** The words of {@code text}, in order; their concatenation is {@code text}. */
    List<String> split(String text) {
        // pieces as [start, end) pairs into text
        int[] bounds = {0, text.length()};
        int count = text.isEmpty() ? 0 : 1;
        for (Pattern pattern : patterns) {
            int[] next = new int[Math.max(4, count * 4)];
            int n = 0;
            Matcher m = pattern.matcher(text);
            for (int i = 0; i < count; i++) {
                int start = bounds[2 * i];
                int end = bounds[2 * i + 1];
                m.region(start, end);
                int pos = start;
                while (m.find()) {
                    if (m.end() == m.start()) {
                        continue;
                    }
                    if (m.start() > pos) {
                        next = add(next, n++, pos, m.start());
                    }
                    next = add(next, n++, m.start(), m.end());
                    pos = m.end();
                }
                if (pos < end) {
                    next = add(next, n++, pos, end);
                }
            }
            bounds = next;
            count = n;
        }
        List<String> words = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            words.add(text.substring(bounds[2 * i], bounds[2 * i + 1]));
        }
        return words;
    }

    private static int[] add(int[] a, int index, int start, int end) {
        if (2 * index + 1 >= a.length) {
            a = java.util.Arrays.copyOf(a, a.length * 2);
        }
        a[2 * index] = start;
        a[2 * index + 1] = end;
        return a;
    }
}
