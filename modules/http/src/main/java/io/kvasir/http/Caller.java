package io.kvasir.http;

import io.kvasir.fabric.tenant.Tenant;

/**
 * Who is calling, as the API key said.
 *
 * @param scope  the isolation scope of their sessions and prefix-cache blocks; null: the shared one
 * @param tenant their tenant when a tenant policy is in force; null otherwise
 */
public record Caller(String scope, Tenant tenant) {

    /** An open API (no keys, no tenants): everybody shares one scope. */
    public static final Caller ANONYMOUS = new Caller(null, null);

    public boolean mayUse(String model) {
        return tenant == null || tenant.allows(model);
    }
}
