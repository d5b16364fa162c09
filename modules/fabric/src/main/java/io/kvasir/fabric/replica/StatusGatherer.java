package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ModelShard;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One admin status request: asks every listed replica for its state and answers once all have
 * replied or the timeout passes (replicas that did not answer in time are left out).
 */
final class StatusGatherer extends AbstractBehavior<StatusGatherer.Command> {

    interface Command {
    }

    private record Reported(ModelShard.StatusReport report) implements Command {
    }

    private enum Timeout implements Command { INSTANCE }

    static Behavior<Command> create(Map<String, List<ActorRef<ModelShard.Command>>> targets, Duration timeout,
                                    ActorRef<List<Fabric.ModelStatus>> replyTo) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startSingleTimer(Timeout.INSTANCE, timeout);
            return new StatusGatherer(ctx, targets, replyTo);
        }));
    }

    private final Map<String, List<ActorRef<ModelShard.Command>>> targets;
    private final ActorRef<List<Fabric.ModelStatus>> replyTo;
    private final List<ModelShard.StatusReport> reports = new ArrayList<>();
    private final int expected;

    private StatusGatherer(ActorContext<Command> ctx, Map<String, List<ActorRef<ModelShard.Command>>> targets,
                           ActorRef<List<Fabric.ModelStatus>> replyTo) {
        super(ctx);
        this.targets = targets;
        this.replyTo = replyTo;
        this.expected = targets.values().stream().mapToInt(List::size).sum();
        ActorRef<ModelShard.StatusReport> adapter = ctx.messageAdapter(ModelShard.StatusReport.class, Reported::new);
        targets.values().forEach(refs -> refs.forEach(r -> r.tell(new ModelShard.GetStatus(adapter))));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Reported.class, this::onReported)
                .onMessageEquals(Timeout.INSTANCE, this::answer)
                .build();
    }

    private Behavior<Command> onReported(Reported reported) {
        reports.add(reported.report());
        return reports.size() >= expected ? answer() : this;
    }

    private Behavior<Command> answer() {
        List<Fabric.ModelStatus> result = new ArrayList<>();
        for (String model : targets.keySet()) {
            List<Fabric.ReplicaStatus> replicas = reports.stream()
                    .filter(r -> r.model().equals(model))
                    .map(ModelShard.StatusReport::status)
                    .sorted(Comparator.comparing(Fabric.ReplicaStatus::entityId))
                    .toList();
            result.add(new Fabric.ModelStatus(model, replicas));
        }
        replyTo.tell(List.copyOf(result));
        return Behaviors.stopped();
    }
}
