package io.kvasir.fabric.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.tenant.Tenant;
import io.kvasir.fabric.tenant.TenantPolicy;
import io.kvasir.fabric.tenant.TenantQuotas;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link TurnPlacement#refusedAtOnce}: admission's forecast, held to the objective from the
 * request's arrival, refuses without a stream; a tenant's own gates (a model it may not use, its
 * quota) are left to answer as they do in {@code generate}.
 */
class EarlyRefusalTest {

    private final KvasirSettings settings = KvasirSettings.from(ConfigFactory.load(ConfigFactory.parseString("""
            kvasir.models { m { path = "m.gguf" }, other { path = "o.gguf" } }
            kvasir.tenants {
              acme { api-keys = ["sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"], max-concurrent = 1 }
              narrow { api-keys = ["sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"], models = [other] }
            }
            """)));
    private final ReplicaView view = new ReplicaView();
    private final AdmissionControl admission =
            new AdmissionControl(settings.models().values(), settings.admission());
    private final TenantPolicy tenants = new TenantPolicy(settings.tenants());
    private final TenantQuotas quotas = new TenantQuotas(name -> 0, () -> 1, System::nanoTime);
    // refusedAtOnce starts nothing, so no actor system is needed.
    private final TurnPlacement placement = new TurnPlacement(
            null,
            settings,
            view,
            admission,
            new FabricMetrics(new SimpleMeterRegistry(), settings.models().values()),
            new NodeState(),
            tenants,
            quotas);

    EarlyRefusalTest() {
        admission.forecast(new PrefillBacklog(view, Duration.ofMillis(500), System::nanoTime));
    }

    /** The model's one decode replica reports this many prompt tokens queued, at 1,000 a second. */
    private void queued(long tokens) {
        PrefillBacklogTest.report(view, tokens, 1000);
    }

    private static GenerationRequest chat(String tenant) {
        return new GenerationRequest(
                        "m",
                        null,
                        List.of(new ChatMessage("user", "hello")),
                        null,
                        SamplingParams.greedy(),
                        8,
                        List.of(),
                        GenerationRequest.Workload.INTERACTIVE,
                        null,
                        null)
                .forTenant(tenant, null);
    }

    @Test
    void theForecastCountsTheTimeTheRequestAlreadyWaited() {
        queued(1_500); // 1.5 s of prompt work ahead: within the 2 s objective
        assertThat(placement.refusedAtOnce(chat(null), Duration.ZERO)).isEmpty();
        assertThat(placement.refusedAtOnce(chat(null), Duration.ofMillis(800)))
                .as("1.5 s ahead after 0.8 s already spent arriving")
                .hasValueSatisfying(e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED));
    }

    @Test
    void aTenantsOwnGatesAnswerFirst() {
        queued(3_000); // past the objective for anyone
        assertThat(placement.refusedAtOnce(chat("acme"), Duration.ZERO))
                .as("a tenant within its quota is refused early like anyone")
                .isPresent();
        Tenant acme = tenants.tenants().named("acme").orElseThrow();
        TenantQuotas.Permit held = quotas.acquire(acme, 10); // now at its max-concurrent
        assertThat(placement.refusedAtOnce(chat("acme"), Duration.ZERO))
                .as("at its quota: generate answers with the quota's own refusal")
                .isEmpty();
        held.release();
        assertThat(placement.refusedAtOnce(chat("narrow"), Duration.ZERO))
                .as("a model it may not use: generate answers that")
                .isEmpty();
    }
}
