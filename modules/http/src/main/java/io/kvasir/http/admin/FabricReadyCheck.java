package io.kvasir.http.admin;

import akka.actor.AbstractExtensionId;
import akka.actor.ActorSystem;
import akka.actor.ExtendedActorSystem;
import akka.actor.Extension;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An Akka Management readiness check (registered in reference.conf): the node's fabric is ready.
 * Akka Management builds checks by reflection from a class name and an actor system, so the fabric
 * reaches it through {@link Holder}, a per-system extension the {@link ManagementServer} fills in.
 * Until then (the fabric still starting) the node is not ready.
 */
public final class FabricReadyCheck implements Supplier<CompletionStage<Boolean>> {

    private static final Logger log = LoggerFactory.getLogger(FabricReadyCheck.class);

    private final Holder holder;

    public FabricReadyCheck(ActorSystem system) {
        this.holder = Holder.ID.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        boolean ready = holder.ready.getAsBoolean();
        // Probes come every few seconds: say only when the answer changes, so a pod's log tells why it
        // left the Service without repeating itself.
        if (holder.lastAnswer.getAndSet(ready) != ready) {
            log.info(
                    ready
                            ? "readiness: the fabric is ready (joined, a replica loaded)"
                            : "readiness: the fabric is not ready (not yet Up, draining, or no replica of its models loaded)");
        }
        return CompletableFuture.completedFuture(ready);
    }

    /** Where the running fabric's readiness is found from an actor system. */
    public static final class Holder implements Extension {

        static final AbstractExtensionId<Holder> ID = new AbstractExtensionId<>() {
            @Override
            public Holder createExtension(ExtendedActorSystem system) {
                return new Holder();
            }
        };

        private volatile BooleanSupplier ready = () -> false;
        private final AtomicBoolean lastAnswer = new AtomicBoolean(true);

        public static Holder get(ActorSystem system) {
            return ID.get(system);
        }

        public void set(BooleanSupplier fabricReady) {
            this.ready = fabricReady;
        }
    }
}
