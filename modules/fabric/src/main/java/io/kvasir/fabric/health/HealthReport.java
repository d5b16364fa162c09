package io.kvasir.fabric.health;

import java.util.List;

/**
 * A replica's health as it publishes it with its load: the worst severity among its failing checks
 * (its node's and its own), and every check's figure, so that any gateway can say why.
 */
public record HealthReport(Severity status, List<CheckResult> checks) {

    /** What a replica that runs no checks publishes (health off, an external endpoint, an old node). */
    public static final HealthReport UNCHECKED = new HealthReport(Severity.HEALTHY, List.of());

    public HealthReport {
        status = status == null ? Severity.HEALTHY : status;
        checks = checks == null ? List.of() : List.copyOf(checks);
    }

    /** The status from the checks themselves. */
    public static HealthReport of(List<CheckResult> checks) {
        Severity status = Severity.HEALTHY;
        for (CheckResult c : checks) {
            if (c.failing()) {
                status = status.worst(c.severity());
            }
        }
        return new HealthReport(status, checks);
    }

    public List<CheckResult> failing() {
        return checks.stream().filter(CheckResult::failing).toList();
    }

    /** The failing checks in one line, for logs and refusals: {@code engine-stuck (…); kv-cache (…)}. */
    public String why() {
        return failing().stream()
                .map(c -> c.check() + " (" + c.detail() + ")")
                .reduce((a, b) -> a + "; " + b)
                .orElse("healthy");
    }

    public HealthReport with(List<CheckResult> more) {
        List<CheckResult> all = new java.util.ArrayList<>(checks);
        all.addAll(more);
        return of(all);
    }
}
