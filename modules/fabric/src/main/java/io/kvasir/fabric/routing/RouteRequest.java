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
public record RouteRequest(String model, String leased, List<String> excluded, GenerationRequest.Workload workload,
                           long[] prefixChain) {

    public RouteRequest {
        excluded = excluded == null ? List.of() : List.copyOf(excluded);
        prefixChain = prefixChain == null ? new long[0] : prefixChain;
    }
}
