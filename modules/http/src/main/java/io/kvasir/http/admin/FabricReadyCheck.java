package io.kvasir.http.admin;

import akka.actor.AbstractExtensionId;
import akka.actor.ActorSystem;
import akka.actor.ExtendedActorSystem;
import akka.actor.Extension;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
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
        Optional<String> why = holder.notReady.get();
        // Probes come every few seconds: say only when the answer (or the reason) changes, so a pod's
        // log tells why it is out of the Service without repeating itself.
        String answer = why.orElse("");
        if (!answer.equals(holder.lastAnswer.getAndSet(answer))) {
            if (why.isEmpty()) {
                log.info("readiness: the fabric is ready (joined, a replica loaded)");
            } else {
                log.warn("readiness: not ready: {}", why.get());
            }
        }
        return CompletableFuture.completedFuture(why.isEmpty());
    }

    /** Where the running fabric's readiness is found from an actor system. */
    public static final class Holder implements Extension {

        static final AbstractExtensionId<Holder> ID = new AbstractExtensionId<>() {
            @Override
            public Holder createExtension(ExtendedActorSystem system) {
                return new Holder();
            }
        };

        private volatile Supplier<Optional<String>> notReady = () -> Optional.of("the fabric is still starting");
        private final AtomicReference<String> lastAnswer = new AtomicReference<>();

        public static Holder get(ActorSystem system) {
            return ID.get(system);
        }

        /** @param notReadyReason why the fabric is not ready, empty when it is */
        public void set(Supplier<Optional<String>> notReadyReason) {
            this.notReady = notReadyReason;
        }
    }
}
