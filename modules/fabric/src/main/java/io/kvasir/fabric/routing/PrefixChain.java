package io.kvasir.fabric.routing;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.GenerationRequest;
import java.nio.charset.StandardCharsets;

/**
 * A turn's prefix chain: chained 64-bit hashes of its leading parts, computed where no tokenizer
 * is at hand (the gateway and its sessions; the model lives on the replicas). For chat, one link
 * per message (role and content); for a plain prompt, one per {@value #TEXT_BLOCK} characters. The
 * first link hashes the model and the request's scope, so chains never match across models or
 * scopes. Two turns that share their first k links share the rendered prompt up to there, so a
 * replica that served one holds the other's prefix in its cache (while it is not evicted).
 * A replica reports the links of the turns it served; {@link PrefixSummary} matches them.
 */
public final class PrefixChain {

    /** Characters per link of a plain prompt: about 64-128 tokens, a few KV blocks. */
    static final int TEXT_BLOCK = 256;

    private static final long SEED = 0x2545F4914F6CDD1DL;

    private PrefixChain() {}

    /**
     * A turn's chain: its links, and how many characters each covers (a link's share of the prompt:
     * a cached system prompt of 2,000 characters is worth more than a cached "hi").
     */
    public record Chain(long[] links, int[] sizes) {

        public static final Chain EMPTY = new Chain(new long[0], new int[0]);

        public Chain {
            if (links.length != sizes.length) {
                throw new IllegalArgumentException("a chain needs one size per link");
            }
        }

        /** The share of the chain's characters covered by its first {@code matched} links. */
        public double share(int matched) {
            long total = 0;
            long covered = 0;
            for (int i = 0; i < sizes.length; i++) {
                total += sizes[i];
                if (i < matched) {
                    covered += sizes[i];
                }
            }
            return total == 0 ? 0 : (double) covered / total;
        }
    }

    /** The links alone (what a replica remembers of the turns it served). */
    public static long[] of(GenerationRequest request) {
        return chain(request).links();
    }

    public static Chain chain(GenerationRequest request) {
        long root = mix(SEED, request.model());
        root = mix(root, request.scope() == null ? "" : request.scope());
        if (request.isChat()) {
            int n = request.messages().size();
            long[] links = new long[n];
            int[] sizes = new int[n];
            long h = root;
            for (int i = 0; i < n; i++) {
                ChatMessage m = request.messages().get(i);
                h = mix(mix(h, m.role()), m.content());
                links[i] = h;
                // The role's few characters count too, so an empty message still weighs something.
                sizes[i] = m.role().length() + m.content().length();
            }
            return new Chain(links, sizes);
        }
        String prompt = request.prompt() == null ? "" : request.prompt();
        int n = prompt.length() / TEXT_BLOCK;
        long[] links = new long[n];
        int[] sizes = new int[n];
        long h = root;
        for (int i = 0; i < n; i++) {
            h = mix(h, prompt.substring(i * TEXT_BLOCK, (i + 1) * TEXT_BLOCK));
            links[i] = h;
            sizes[i] = TEXT_BLOCK;
        }
        return new Chain(links, sizes);
    }

    private static long mix(long h, String text) {
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L; // FNV-1a step over the bytes
        }
        h ^= text.length();
        // SplitMix64 finalizer, so nearby inputs land far apart.
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return h ^ (h >>> 31);
    }
}
