package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineStats;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.health.HealthReport;
import io.kvasir.fabric.health.ReplicaHealth;
import io.kvasir.fabric.health.Severity;
import org.slf4j.Logger;

/**
 * What a replica does with its health ({@link ReplicaHealth}): samples it on each publish tick,
 * says when it changes, and on turning unhealthy withdraws the turns it accepted that have sent
 * nothing past their start (rendering, queued behind a stuck step, waiting in the engine): their
 * streams fail as unavailable and the gateway places them again, on another replica, through its
 * resume path. Turns already streaming finish here. While unhealthy, the replica refuses new turns
 * and prefills. Used from the replica's actor only.
 */
final class HealthWatch {

    private final String name;
    private final ReplicaHealth health;
    private final Logger log;

    HealthWatch(String name, ReplicaHealth health, Logger log) {
        this.name = name;
        this.health = health;
        this.log = log;
    }

    HealthReport current() {
        return health.current();
    }

    /** Why the replica takes no new work now, or null when it may. */
    String refusal() {
        HealthReport now = health.current();
        return now.status() == Severity.UNHEALTHY ? "replica " + name + " is unhealthy: " + now.why() : null;
    }

    /**
     * Samples the checks ({@code latest}: the engine's last statistics, the same object again when
     * no new reading came back) and, on turning unhealthy, withdraws what {@code accepted} has not started.
     */
    void sample(EngineStats latest, Iterable<RequestStream> accepted) {
        Severity before = health.current().status();
        HealthReport now = health.sample(latest);
        if (now.status() == before) {
            return;
        }
        if (now.status() != Severity.UNHEALTHY) {
            log.info("replica {} is {}: {}", name, now.status().label(), now.why());
            return;
        }
        log.warn("replica {} is unhealthy, taking no new turns: {}", name, now.why());
        FabricException cause = new FabricException(FabricException.Kind.UNAVAILABLE, refusal());
        int withdrawn = 0;
        for (RequestStream stream : accepted) {
            if (stream.withdraw(cause)) {
                withdrawn++;
            }
        }
        if (withdrawn > 0) {
            log.info("replica {}: {} turns not started yet go to other replicas", name, withdrawn);
        }
    }
}
