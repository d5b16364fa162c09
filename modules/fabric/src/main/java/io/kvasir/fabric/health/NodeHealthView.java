package io.kvasir.fabric.health;

import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@code /admin/nodes}: every cluster member with its health, assembled from the load reports this
 * node holds (each replica's report carries its node's checks and its own), and this node's own
 * monitor for itself when it hosts no replica. A member that hosts none publishes nothing, so another
 * node shows it as {@code unknown}.
 */
public final class NodeHealthView {

    private NodeHealthView() {}

    /**
     * @param members  every member's address and roles, in the order to show them
     * @param reports  the live replicas' last reports (all models)
     * @param self     this node's address
     * @param selfNode this node's own checks
     */
    public static List<Fabric.NodeHealthStatus> of(
            Map<String, List<String>> members, List<LoadReport> reports, String self, List<CheckResult> selfNode) {
        List<Fabric.NodeHealthStatus> out = new ArrayList<>();
        members.forEach((node, roles) -> {
            List<LoadReport> here = reports.stream()
                    .filter(r -> r.node().equals(node))
                    .sorted(Comparator.comparing(LoadReport::replica))
                    .toList();
            List<CheckResult> nodeChecks = here.isEmpty()
                    ? (node.equals(self) ? selfNode : List.of())
                    : here.getFirst().health().checks().stream()
                            .filter(c -> !ReplicaHealth.isReplicaCheck(c.check()))
                            .toList();
            Severity worst = HealthReport.of(nodeChecks).status();
            List<Fabric.ReplicaHealthStatus> replicas = new ArrayList<>();
            for (LoadReport r : here) {
                worst = worst.worst(r.health().status());
                replicas.add(new Fabric.ReplicaHealthStatus(
                        r.replica(),
                        r.model(),
                        r.health().status().label(),
                        view(r.health().checks().stream()
                                .filter(c -> ReplicaHealth.isReplicaCheck(c.check()))
                                .toList())));
            }
            boolean known = !here.isEmpty() || node.equals(self);
            out.add(new Fabric.NodeHealthStatus(
                    node, List.copyOf(roles), known ? worst.label() : "unknown", view(nodeChecks), replicas));
        });
        return out;
    }

    private static List<Fabric.HealthCheck> view(List<CheckResult> checks) {
        return checks.stream()
                .map(c -> new Fabric.HealthCheck(
                        c.check(),
                        c.failing(),
                        c.severity().label(),
                        finite(c.figure()),
                        finite(c.threshold()),
                        c.unit(),
                        c.detail()))
                .toList();
    }

    /** JSON has no NaN: a figure that is not there is null. */
    private static Double finite(double value) {
        return Double.isFinite(value) ? value : null;
    }
}
