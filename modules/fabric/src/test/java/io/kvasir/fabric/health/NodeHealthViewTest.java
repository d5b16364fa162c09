package io.kvasir.fabric.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeHealthViewTest {

    private static final CheckResult HEAP_OK =
            new CheckResult("heap", false, Severity.UNHEALTHY, 0.4, 0.95, "fraction", "live heap 40%");
    private static final CheckResult STUCK =
            new CheckResult("engine-stuck", true, Severity.UNHEALTHY, 12, 10, "seconds", "12 s (limit 10 s)");
    private static final CheckResult KV_OK =
            new CheckResult("kv-cache", false, Severity.DEGRADED, 0.5, 0.02, "fraction", "half free");
    private static final CheckResult POWER = CheckResult.figure("gpu0-power", 210, "watts", "210 W");

    @Test
    void eachNodeShowsItsOwnChecksOnceAndEachReplicasBesideThem() {
        Map<String, List<String>> members = new LinkedHashMap<>();
        members.put("node-a", List.of("decode"));
        members.put("node-b", List.of("decode"));
        members.put("gateway", List.of("gateway"));
        members.put("other-gateway", List.of("gateway"));
        List<LoadReport> reports = List.of(
                report("m:decode:0", "node-a", HealthReport.of(List.of(HEAP_OK, POWER, STUCK, KV_OK))),
                report("m:decode:1", "node-b", HealthReport.of(List.of(HEAP_OK, KV_OK))));

        List<Fabric.NodeHealthStatus> nodes = NodeHealthView.of(members, reports, "gateway", List.of(HEAP_OK));

        Fabric.NodeHealthStatus a = nodes.get(0);
        assertThat(a.status()).isEqualTo("unhealthy");
        assertThat(a.checks()).extracting(Fabric.HealthCheck::check).containsExactly("heap", "gpu0-power");
        assertThat(a.checks().get(1).threshold()).as("JSON has no NaN").isNull();
        assertThat(a.replicas()).singleElement().satisfies(r -> {
            assertThat(r.status()).isEqualTo("unhealthy");
            assertThat(r.checks()).extracting(Fabric.HealthCheck::check).containsExactly("engine-stuck", "kv-cache");
            assertThat(r.checks().getFirst().detail()).isEqualTo("12 s (limit 10 s)");
        });
        assertThat(nodes.get(1).status()).isEqualTo("healthy");
        assertThat(nodes.get(2).status())
                .as("this node, with no replica, measures itself")
                .isEqualTo("healthy");
        assertThat(nodes.get(2).checks()).extracting(Fabric.HealthCheck::check).containsExactly("heap");
        assertThat(nodes.get(3).status())
                .as("another node with no replica publishes nothing")
                .isEqualTo("unknown");
    }

    private static LoadReport report(String replica, String node, HealthReport health) {
        return new LoadReport(
                        replica,
                        "m",
                        node,
                        "decode",
                        new ReplicaLoad(0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0),
                        new long[0],
                        null)
                .withHealth(health);
    }
}
