package io.kvasir.fabric.tenant;

import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.util.Set;

/**
 * One tenant's policy, as configured under {@code kvasir.tenants.<name>}.
 *
 * @param name             the tenant's name (also its bounded metrics label)
 * @param keyHashes        SHA-256 digests (lower-case hex) of the API keys that act as this tenant
 * @param models           model ids it may use; empty: every model
 * @param maxConcurrent    requests in flight at once, cluster-wide; 0: no limit of its own
 * @param tokensPerMinute  prompt plus completion tokens per minute (a token bucket); 0: no limit
 * @param priority         higher is admitted first when requests wait for a slot
 * @param workload         the class of its requests that name none
 * @param cacheGroup       tenants with the same group share prefix-cache blocks and sessions; null:
 *                         the tenant's cache is its own
 * @param region           the region (Akka data center) its turns run in first; null: the region of
 *                         the gateway the request entered
 * @param pinned           its turns never run outside {@code region} (data governance): when the
 *                         region has no replica up, the request is refused (503), never moved
 */
public record Tenant(
        String name,
        Set<String> keyHashes,
        Set<String> models,
        int maxConcurrent,
        long tokensPerMinute,
        int priority,
        Workload workload,
        String cacheGroup,
        String region,
        boolean pinned) {

    public Tenant {
        keyHashes = Set.copyOf(keyHashes);
        models = Set.copyOf(models);
        if (pinned && region == null) {
            throw new IllegalArgumentException("tenant '" + name + "' is pinned but names no region");
        }
    }

    /** A tenant of no particular region. */
    public Tenant(
            String name,
            Set<String> keyHashes,
            Set<String> models,
            int maxConcurrent,
            long tokensPerMinute,
            int priority,
            Workload workload,
            String cacheGroup) {
        this(name, keyHashes, models, maxConcurrent, tokensPerMinute, priority, workload, cacheGroup, null, false);
    }

    public boolean allows(String model) {
        return models.isEmpty() || models.contains(model);
    }

    /**
     * The isolation scope of the tenant's requests: block hashes are salted with it and session ids
     * live within it, so a tenant's prompt never hits another tenant's blocks.
     */
    public String scope() {
        return cacheGroup != null ? "group-" + cacheGroup : "tenant-" + name;
    }
}
