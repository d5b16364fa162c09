package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One admin status request: asks every listed replica for its load and answers once all have
 * replied or the timeout passed (replicas that did not answer in time are left out, and logged).
 * With nothing to ask it answers at once.
 */
final class StatusGatherer extends AbstractBehavior<StatusGatherer.Command> {

    sealed interface Command permits Reported, Timeout {}

    private record Reported(LoadReport report) implements Command {}

    private enum Timeout implements Command {
        INSTANCE
    }

    static Behavior<Command> create(
            Map<String, List<ActorRef<ReplicaProtocol.Command>>> targets,
            Duration timeout,
            ActorRef<List<Fabric.ModelStatus>> replyTo) {
        return Behaviors.setup(ctx -> {
            int expected = targets.values().stream().mapToInt(List::size).sum();
            if (expected == 0) {
                replyTo.tell(answer(targets, List.of()));
                return Behaviors.stopped();
            }
            return Behaviors.withTimers(timers -> {
                timers.startSingleTimer(Timeout.INSTANCE, timeout);
                return new StatusGatherer(ctx, targets, expected, replyTo);
            });
        });
    }

    private final Map<String, List<ActorRef<ReplicaProtocol.Command>>> targets;
    private final ActorRef<List<Fabric.ModelStatus>> replyTo;
    private final List<LoadReport> reports = new ArrayList<>();
    private final int expected;

    private StatusGatherer(
            ActorContext<Command> ctx,
            Map<String, List<ActorRef<ReplicaProtocol.Command>>> targets,
            int expected,
            ActorRef<List<Fabric.ModelStatus>> replyTo) {
        super(ctx);
        this.targets = targets;
        this.replyTo = replyTo;
        this.expected = expected;
        ActorRef<LoadReport> adapter = ctx.messageAdapter(LoadReport.class, Reported::new);
        targets.values().forEach(refs -> refs.forEach(r -> r.tell(new ReplicaProtocol.GetLoad(adapter))));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Reported.class, this::onReported)
                .onMessageEquals(Timeout.INSTANCE, this::onTimeout)
                .build();
    }

    private Behavior<Command> onReported(Reported reported) {
        reports.add(reported.report());
        if (reports.size() < expected) {
            return this;
        }
        replyTo.tell(answer(targets, reports));
        return Behaviors.stopped();
    }

    private Behavior<Command> onTimeout() {
        getContext()
                .getLog()
                .warn(
                        "admin status: {} of {} replicas did not answer in time; left out",
                        expected - reports.size(),
                        expected);
        replyTo.tell(answer(targets, reports));
        return Behaviors.stopped();
    }

    private static List<Fabric.ModelStatus> answer(
            Map<String, List<ActorRef<ReplicaProtocol.Command>>> targets, List<LoadReport> reports) {
        List<Fabric.ModelStatus> result = new ArrayList<>();
        for (String model : targets.keySet()) {
            List<Fabric.ReplicaStatus> replicas = reports.stream()
                    .filter(r -> r.model().equals(model))
                    .map(StatusGatherer::status)
                    .sorted(Comparator.comparing(Fabric.ReplicaStatus::entityId))
                    .toList();
            result.add(new Fabric.ModelStatus(model, replicas));
        }
        return List.copyOf(result);
    }

    /** The admin API's view of a replica's report. */
    static Fabric.ReplicaStatus status(LoadReport r) {
        return new Fabric.ReplicaStatus(
                r.replica(),
                r.node(),
                r.pool(),
                r.load().running(),
                r.load().waiting(),
                r.load().kvBlocksTotal(),
                r.load().kvBlocksInUse(),
                r.load().paused(),
                r.load().queuedPrefillTokens(),
                r.load().capacity(),
                r.prefixes().length,
                r.down()
                        ? "down"
                        : r.health().status() == io.kvasir.fabric.health.Severity.HEALTHY
                                ? "up"
                                : r.health().status().label(),
                r.engine() == null ? "local" : r.engine());
    }
}
