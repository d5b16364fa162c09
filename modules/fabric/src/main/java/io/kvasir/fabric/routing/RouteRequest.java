package io.kvasir.fabric.routing;

import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;

/**
 * What routing knows of a turn when it picks a replica.
 *
 * @param leased      the replica holding the session's KV (its lease), or null for a new session
 * @param excluded    replicas that already failed this turn
 * @param prefixChain the turn's prefix chain ({@link PrefixChain}), leading part first
 */
public record RouteRequest(
        String model,
        String leased,
        List<String> excluded,
        GenerationRequest.Workload workload,
        PrefixChain.Chain prefixChain) {

    public RouteRequest {
        excluded = excluded == null ? List.of() : List.copyOf(excluded);
        prefixChain = prefixChain == null ? PrefixChain.Chain.EMPTY : prefixChain;
    }

    /** A request whose chain's links all weigh the same (tests). */
    public RouteRequest(
            String model, String leased, List<String> excluded, GenerationRequest.Workload workload, long[] links) {
        this(
                model,
                leased,
                excluded,
                workload,
                new PrefixChain.Chain(
                        links == null ? new long[0] : links, evenSizes(links == null ? 0 : links.length)));
    }

    private static int[] evenSizes(int n) {
        int[] sizes = new int[n];
        java.util.Arrays.fill(sizes, 1);
        return sizes;
    }
}
