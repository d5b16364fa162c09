package io.kvasir.fabric.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest.Workload;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TenantQuotasTest {

    private final AtomicLong now = new AtomicLong();
    private final Map<String, Integer> remote = new HashMap<>();
    private final AtomicInteger gateways = new AtomicInteger(1);
    private final TenantQuotas quotas = new TenantQuotas(t -> remote.getOrDefault(t, 0), gateways::get, now::get);

    private static Tenant tenant(String name, int maxConcurrent, long tpm) {
        return new Tenant(name, Set.of(), Set.of(), maxConcurrent, tpm, 0, Workload.INTERACTIVE, null);
    }

    @Test
    void concurrencyCountsThisGatewayAndTheOthersAndFreesOnRelease() {
        Tenant a = tenant("a", 2, 0);
        TenantQuotas.Permit first = quotas.acquire(a, 10);
        remote.put("a", 1);
        assertThatThrownBy(() -> quotas.acquire(a, 10)).isInstanceOfSatisfying(FabricException.class, e -> {
            assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
            assertThat(e.code()).isEqualTo(TenantQuotas.QUOTA_EXCEEDED);
        });
        assertThat(quotas.acquire(tenant("b", 2, 0), 10)).as("another tenant").isNotNull();
        first.release();
        first.release(); // once only
        assertThat(quotas.inFlight()).containsEntry("b", 1).doesNotContainKey("a");
        quotas.acquire(a, 10);
    }

    @Test
    void aBucketInDebtRefusesUntilItHasRefilledAndSaysWhen() {
        Tenant a = tenant("a", 0, 600); // 10 tokens a second
        TenantQuotas.Permit p = quotas.acquire(a, 500);
        p.charge(400); // 900 used of 600: 300 in debt
        p.release();
        assertThatThrownBy(() -> quotas.acquire(a, 10))
                .isInstanceOfSatisfying(
                        FabricException.class,
                        e -> assertThat(e.retryAfterSeconds()).isEqualTo(31));
        now.addAndGet(29_000_000_000L);
        assertThatThrownBy(() -> quotas.acquire(a, 10)).isInstanceOf(FabricException.class);
        now.addAndGet(2_000_000_000L);
        quotas.acquire(a, 10).release();
    }

    @Test
    void twoGatewaysEachRefillAtHalfTheRate() {
        gateways.set(2);
        Tenant a = tenant("a", 0, 600);
        quotas.acquire(a, 600 + 50).release(); // 50 in debt
        now.addAndGet(5_000_000_000L); // 5 tokens a second here: 25 back
        assertThatThrownBy(() -> quotas.acquire(a, 1)).isInstanceOf(FabricException.class);
        now.addAndGet(6_000_000_000L);
        quotas.acquire(a, 1).release();
    }

    @Test
    void wouldRefuseTellsWhatAcquireWouldDoAndTakesNothing() {
        Tenant a = tenant("a", 1, 600);
        assertThat(quotas.wouldRefuse(a)).isFalse();
        assertThat(quotas.wouldRefuse(a)).as("asking held nothing").isFalse();
        TenantQuotas.Permit held = quotas.acquire(a, 10);
        assertThat(quotas.wouldRefuse(a)).as("at its concurrency limit").isTrue();
        held.charge(700); // and its bucket in debt
        held.release();
        assertThat(quotas.wouldRefuse(a)).as("free again, but in debt").isTrue();
        assertThatThrownBy(() -> quotas.acquire(a, 10)).isInstanceOf(FabricException.class);
        now.addAndGet(60_000_000_000L);
        assertThat(quotas.wouldRefuse(a)).isFalse();
        quotas.acquire(a, 10).release();
        assertThat(quotas.wouldRefuse(tenant("b", 0, 0))).as("no limits").isFalse();
    }
}
