package io.kvasir.fabric.routing;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import java.util.List;

/**
 * Which regions a turn may run in: its home region (the tenant's, else the gateway's own) while
 * that has a decode replica to offer; otherwise, for an unpinned caller, every region, and for a
 * pinned one none at all: data that must stay in a region is refused rather than moved. Applied
 * before the other filters, so routing within the region is the usual policy.
 *
 * @param home   the region the turn belongs to
 * @param pinned whether it may never leave it
 */
public record RegionScope(String home, boolean pinned) {

    /** One region only, the default one: a cluster without regions. */
    public static final RegionScope ANYWHERE = new RegionScope(ReplicaId.DEFAULT_REGION, false);

    /** The candidates this turn may use; empty when a pinned turn's region has no decode replica. */
    public List<Candidate> select(List<Candidate> candidates) {
        List<Candidate> local = candidates.stream()
                .filter(c -> ReplicaId.regionOf(c.replica()).equals(home))
                .toList();
        boolean localDecode = local.stream().anyMatch(c -> ModelSettings.DECODE.equals(c.pool()));
        if (localDecode || pinned) {
            return local;
        }
        return candidates;
    }
}
