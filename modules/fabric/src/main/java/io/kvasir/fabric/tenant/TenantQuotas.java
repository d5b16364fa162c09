package io.kvasir.fabric.tenant;

import io.kvasir.fabric.api.FabricException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;

/**
 * Each tenant's share of the cluster: requests in flight against {@code max-concurrent} (this
 * gateway's plus what the other gateways last published, like the model limits), and a token
 * bucket of {@code tokens-per-minute}. A gateway cannot see the others' token use in time to
 * matter, so each refills its bucket at the tenant's rate divided by the gateways up: the tenant
 * gets its rate whichever gateways its requests enter, as long as it spreads over them as a load
 * balancer spreads it. Prompt tokens are charged (estimated) at admission and corrected by the
 * replica's count; completion tokens as the turn finishes. A bucket in debt refuses until it has
 * refilled, and says when that is: the Retry-After. Other tenants never wait on it.
 */
public final class TenantQuotas {

    /** The code a client sees on a tenant's 429, to tell it from the cluster being overloaded. */
    public static final String QUOTA_EXCEEDED = "tenant_quota_exceeded";

    /** A request's hold on its tenant's quota; release once, when the request's stream ends. */
    public interface Permit {
        Permit NONE = new Permit() {
            @Override
            public void charge(long tokens) {}

            @Override
            public void release() {}
        };

        /** Tokens the request used beyond (or, negative, short of) what was charged so far. */
        void charge(long tokens);

        void release();
    }

    private final Map<String, State> states = new ConcurrentHashMap<>();
    private final ToIntFunction<String> remoteInFlight;
    private final IntSupplier gateways;
    private final LongSupplier nanoTime;

    /**
     * @param remoteInFlight a tenant's requests in flight from the other gateways
     * @param gateways       gateways up, this one included
     */
    public TenantQuotas(ToIntFunction<String> remoteInFlight, IntSupplier gateways, LongSupplier nanoTime) {
        this.remoteInFlight = remoteInFlight;
        this.gateways = gateways;
        this.nanoTime = nanoTime;
    }

    /**
     * A hold for a request of {@code tenant} estimated at {@code promptTokens}.
     *
     * @throws FabricException OVERLOADED with code {@value #QUOTA_EXCEEDED} when the tenant is at
     *     its concurrency limit or its token bucket is in debt
     */
    public Permit acquire(Tenant tenant, long promptTokens) {
        State state = states.computeIfAbsent(tenant.name(), n -> new State(nanoTime.getAsLong()));
        synchronized (state) {
            FabricException refused = refusal(tenant, state);
            if (refused != null) {
                throw refused;
            }
            if (tenant.tokensPerMinute() > 0) {
                state.tokens -= promptTokens;
            }
            state.inFlight++;
        }
        return new Permit() {
            private boolean released;

            @Override
            public void charge(long tokens) {
                if (tenant.tokensPerMinute() > 0) {
                    synchronized (state) {
                        state.tokens -= tokens;
                    }
                }
            }

            @Override
            public void release() {
                synchronized (state) {
                    if (!released) {
                        released = true;
                        state.inFlight--;
                    }
                }
            }
        };
    }

    /**
     * Whether {@link #acquire} would refuse a request of {@code tenant} now (its concurrency limit,
     * its token bucket in debt); nothing is held or spent. For a front end that answers other
     * refusals early and must leave this one, with its own message, to {@code acquire}.
     */
    public boolean wouldRefuse(Tenant tenant) {
        State state = states.computeIfAbsent(tenant.name(), n -> new State(nanoTime.getAsLong()));
        synchronized (state) {
            return refusal(tenant, state) != null;
        }
    }

    /** The refusal a request of {@code tenant} gets now, or null; refills its bucket first. Holds {@code state}'s lock. */
    private FabricException refusal(Tenant tenant, State state) {
        if (tenant.maxConcurrent() > 0
                && state.inFlight + remoteInFlight.applyAsInt(tenant.name()) >= tenant.maxConcurrent()) {
            return refusal(tenant, "concurrent requests", 1);
        }
        if (tenant.tokensPerMinute() > 0) {
            double perNano = tenant.tokensPerMinute() / 60e9 / Math.max(1, gateways.getAsInt());
            state.refill(nanoTime.getAsLong(), perNano, tenant.tokensPerMinute());
            if (state.tokens <= 0) {
                long waitNanos = (long) Math.ceil((1 - state.tokens) / perNano);
                return refusal(tenant, "tokens per minute", (int) Math.min(3600, waitNanos / 1_000_000_000L + 1));
            }
        }
        return null;
    }

    /** This gateway's requests in flight per tenant (what it publishes to the others). */
    public Map<String, Integer> inFlight() {
        Map<String, Integer> out = new HashMap<>();
        states.forEach((name, state) -> {
            synchronized (state) {
                if (state.inFlight > 0) {
                    out.put(name, state.inFlight);
                }
            }
        });
        return out;
    }

    private static FabricException refusal(Tenant tenant, String what, int retryAfterSeconds) {
        return new FabricException(
                FabricException.Kind.OVERLOADED,
                "Tenant '" + tenant.name() + "' is over its limit of " + what + "; retry later",
                null,
                retryAfterSeconds,
                QUOTA_EXCEEDED);
    }

    private static final class State {
        private int inFlight;
        private double tokens = Double.NaN;
        private long refilledAt;

        State(long now) {
            this.refilledAt = now;
        }

        /** A bucket holds at most one minute of tokens (a burst of a minute's budget), and starts full. */
        void refill(long now, double perNano, long capacity) {
            if (Double.isNaN(tokens)) {
                tokens = capacity;
            } else {
                tokens = Math.min(capacity, tokens + (now - refilledAt) * perNano);
            }
            refilledAt = now;
        }
    }
}
