package io.kvasir.fabric.tenant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.fabric.api.GenerationRequest.Workload;
import org.junit.jupiter.api.Test;

class TenantsTest {

    private static final String KEY_A = Tenants.sha256("key-a");
    private static final String KEY_B = Tenants.sha256("key-b");

    @Test
    void readsEveryTenantSettingAndFindsTenantsByTheirKeys() {
        Tenants tenants = TenantPolicy.parse("""
                tenants {
                  acme {
                    api-keys = ["sha256:%s"]
                    models = [small, large]
                    max-concurrent = 4
                    tokens-per-minute = 1000
                    priority = 7
                    workload = batch
                  }
                  beta { api-keys = ["SHA256:%s"], shared-prefix-cache = on, cache-group = partners }
                }
                """.formatted(KEY_A, KEY_B.toUpperCase()));

        Tenant acme = tenants.byKey("key-a").orElseThrow();
        assertThat(acme.name()).isEqualTo("acme");
        assertThat(acme.allows("small")).isTrue();
        assertThat(acme.allows("other")).isFalse();
        assertThat(acme.maxConcurrent()).isEqualTo(4);
        assertThat(acme.tokensPerMinute()).isEqualTo(1000);
        assertThat(acme.priority()).isEqualTo(7);
        assertThat(acme.workload()).isEqualTo(Workload.BATCH);
        assertThat(acme.scope()).isEqualTo("tenant-acme");

        Tenant beta = tenants.byKey("key-b").orElseThrow();
        assertThat(beta.allows("anything")).as("no list: every model").isTrue();
        assertThat(beta.scope()).isEqualTo("group-partners");
        assertThat(tenants.byKey("key-c")).isEmpty();
        assertThat(tenants.byKey("sha256:" + KEY_A))
                .as("the digest itself is not a key")
                .isEmpty();
    }

    @Test
    void aPlainKeyIsRefusedWithItsLineAndWithoutEchoingIt() {
        assertThatThrownBy(() -> TenantPolicy.parse("""
                        tenants {
                          acme {
                            api-keys = ["sk-live-123"]
                          }
                        }
                        """))
                .isInstanceOf(Tenants.InvalidTenants.class)
                .hasMessageContaining("tenants: 3")
                .hasMessageContaining("sha256:")
                .hasMessageNotContaining("sk-live-123");
    }

    @Test
    void anEmptyBodyIsRefusedWhileAnExplicitEmptyBlockRemovesEveryTenant() {
        for (String empty : new String[] {"", "   \n", "{}"}) {
            assertThatThrownBy(() -> TenantPolicy.parse(empty))
                    .as("'%s'", empty)
                    .isInstanceOf(Tenants.InvalidTenants.class)
                    .hasMessageContaining("{\"tenants\": {}}");
        }
        assertThat(TenantPolicy.parse("{\"tenants\": {}}").all()).isEmpty();
        assertThat(TenantPolicy.parse("kvasir.tenants {}").all()).isEmpty();
    }

    @Test
    void mistakesAreNamed() {
        assertThatThrownBy(() -> TenantPolicy.parse("tenants { a { max-concurent = 3 } }"))
                .hasMessageContaining("unknown setting 'max-concurent'");
        assertThatThrownBy(() -> TenantPolicy.parse("tenants { a { workload = urgent } }"))
                .hasMessageContaining("workload must be");
        assertThatThrownBy(() -> TenantPolicy.parse("tenants { a { max-concurrent = many } }"))
                .hasMessageContaining("max-concurrent");
        assertThatThrownBy(() -> TenantPolicy.parse("tenants { a { cache-group = x } }"))
                .hasMessageContaining("shared-prefix-cache");
        assertThatThrownBy(() -> TenantPolicy.parse(
                        "a { api-keys = [\"sha256:" + KEY_A + "\"] }\nb { api-keys = [\"sha256:" + KEY_A + "\"] }"))
                .hasMessageContaining("also tenant");
        assertThatThrownBy(() -> TenantPolicy.parse("tenants { a { models = [x }"))
                .isInstanceOf(Tenants.InvalidTenants.class)
                .hasMessageContaining("tenants: 1");
    }

    @Test
    void aReloadInstallsOnlyWhatParses() {
        TenantPolicy policy = new TenantPolicy(Tenants.NONE);
        policy.reload("a { api-keys = [\"sha256:" + KEY_A + "\"] }", "node-1");
        assertThat(policy.tenants().byKey("key-a")).isPresent();

        assertThatThrownBy(() -> policy.reload("a { priority = high }", "node-1"))
                .isInstanceOf(Tenants.InvalidTenants.class);
        assertThat(policy.tenants().byKey("key-a"))
                .as("the policy in force stays")
                .isPresent();
    }
}
