package io.kvasir.fabric.metrics;

import io.kvasir.fabric.health.CheckResult;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;

/**
 * Health, one series per replica and check, from the node's {@link ReplicaView} (so every gateway
 * shows the whole cluster as it last heard it, like {@link EngineMeters}): whether each check is
 * failing, its figure, and each replica's verdict. Rows follow the view: a replica that leaves it
 * leaves the metrics. Labels are replica ids and check names, both from the fabric's own config
 * and code, so the series stay as few as the replicas times the checks.
 */
final class HealthMeters {

    private final ReplicaView view;
    private final Iterable<String> models;
    private final MultiGauge failing;
    private final MultiGauge figure;
    private final MultiGauge status;

    private HealthMeters(MeterRegistry registry, Iterable<String> models, ReplicaView view) {
        this.view = view;
        this.models = models;
        this.failing = MultiGauge.builder("kvasir.health.failing")
                .description("1 while the check counts as failing on the replica (after hysteresis), else 0")
                .register(registry);
        this.figure = MultiGauge.builder("kvasir.health.figure")
                .description(
                        "the check's latest figure (its unit is in /admin/nodes: fraction, seconds, ratio, celsius...)")
                .register(registry);
        this.status = MultiGauge.builder("kvasir.health.status")
                .description("the replica's health: 0 healthy, 1 degraded, 2 unhealthy")
                .register(registry);
    }

    static void register(MeterRegistry registry, Iterable<String> models, ReplicaView view) {
        HealthMeters meters = new HealthMeters(registry, models, view);
        view.onChange(meters::refresh);
        meters.refresh();
    }

    private void refresh() {
        List<MultiGauge.Row<?>> failingRows = new ArrayList<>();
        List<MultiGauge.Row<?>> figureRows = new ArrayList<>();
        List<MultiGauge.Row<?>> statusRows = new ArrayList<>();
        for (String model : models) {
            for (LoadReport r : view.replicas(model)) {
                statusRows.add(MultiGauge.Row.of(
                        Tags.of(FabricMetrics.MODEL, model, "replica", r.replica()),
                        r.health().status().ordinal()));
                for (CheckResult c : r.health().checks()) {
                    Tags tags = Tags.of("replica", r.replica(), "check", c.check());
                    failingRows.add(MultiGauge.Row.of(tags, c.failing() ? 1 : 0));
                    if (Double.isFinite(c.figure())) {
                        figureRows.add(MultiGauge.Row.of(tags, c.figure()));
                    }
                }
            }
        }
        failing.register(failingRows, true);
        figure.register(figureRows, true);
        status.register(statusRows, true);
    }
}
