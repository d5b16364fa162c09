package io.kvasir.fabric.routing;

import io.kvasir.fabric.ModelSettings;

/** Decides whether a replica may take a turn at all; every filter must keep it. */
@FunctionalInterface
public interface ReplicaFilter {

    boolean keep(RouteRequest request, Candidate candidate);

    /** Only decode replicas stream turns (prefill replicas serve them, never a client). */
    ReplicaFilter DECODE_POOL = (request, c) -> ModelSettings.DECODE.equals(c.pool());

    /** A replica that already failed this turn is skipped while others are up. */
    ReplicaFilter NOT_EXCLUDED = (request, c) -> !request.excluded().contains(c.replica());
}
