package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class UnknownSettingsTest {

    private static final Config REFERENCE = ConfigFactory.defaultReference();

    private static List<String> warnings(String hocon) {
        return UnknownSettings.warnings(
                ConfigFactory.parseString(hocon).withFallback(REFERENCE).resolve(), REFERENCE);
    }

    @Test
    void theDefaultsAloneHaveNone() {
        assertThat(UnknownSettings.warnings(REFERENCE, REFERENCE)).isEmpty();
    }

    @Test
    void aMistypedSectionOrKeyIsNamedWithWhatWasMeant() {
        assertThat(warnings("kvasir { modles { a { path = x } } }"))
                .containsExactly("unknown setting kvasir.modles (did you mean 'models'?) (String: 1)");
        assertThat(warnings("kvasir.admission.max-in-flight = -5\nkvasir.gateway.replica-wiat = 1s"))
                .containsExactlyInAnyOrder(
                        "unknown setting kvasir.admission.max-in-flight (String: 1)",
                        "unknown setting kvasir.gateway.replica-wiat (did you mean 'replica-wait'?) (String: 2)");
        assertThat(warnings("kvasir.health.step-time.outlier-facter = 3"))
                .singleElement()
                .asString()
                .startsWith("unknown setting kvasir.health.step-time.outlier-facter (did you mean 'outlier-factor'?)");
    }

    @Test
    void theOperatorsOwnNamesAkkasSettingsAndJvmPropertiesAreNotWarnedAbout() {
        assertThat(warnings("""
                kvasir.models { anything { path = x } }
                kvasir.tenants { acme { max-concurrent = 1 } }
                kvasir.tiers { auto { models = [a, b] } }
                kvasir.responses.replicator.gossip-interval = 1s
                kvasir.home = "/opt/kvasir"
                kvasir.debug = true
                kvasir.engine.int8-activations = false
                """)).isEmpty();
    }
}
