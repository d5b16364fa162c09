package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.stream.SourceRef;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;

/**
 * The protocol of a {@link ModelShard}: every message it takes, and every reply it sends. The
 * public records cross the network (a session on one node places turns on a replica on another);
 * the package-private {@link Internal} ones are what the replica tells itself.
 *
 * <pre>
 *   Generate  -> Accepted | Refused, later TurnEnded to turnEnded
 *   Abandon   -> (none)   the placer gave up on the turn: its stream is cancelled
 *   Prefill   -> KvOffer  (prefill pool) the prompt's KV as a stream of chunks
 *   GetLoad   -> LoadReport
 *   Ping      -> (none)   keeps the entity alive where sharding placed it
 * </pre>
 */
public final class ReplicaProtocol {

    private ReplicaProtocol() {}

    /** What a replica takes. */
    public sealed interface Command extends CborSerializable
            permits Generate, Abandon, Prefill, GetLoad, Ping, Internal {}

    /**
     * Run one turn. Idempotent by {@code requestId}: a Generate repeated after a lost reply gets the
     * same {@link Accepted} again, never a second run. {@code continuation} holds tokens already
     * generated for the turn elsewhere (they extend the prompt and count against its max tokens).
     */
    public record Generate(
            String requestId,
            GenerationRequest request,
            int[] continuation,
            ActorRef<GenerateReply> replyTo,
            ActorRef<TurnEnded> turnEnded)
            implements Command {}

    /** The placer no longer waits for {@code requestId}: drop it if nobody reads its stream. */
    public record Abandon(String requestId) implements Command {}

    /** Prefill {@code tokens} here (prefill pool) and offer the KV of their full blocks. */
    public record Prefill(String requestId, int[] tokens, String cacheScope, ActorRef<KvOffer> replyTo)
            implements Command {}

    public record GetLoad(ActorRef<LoadReport> replyTo) implements Command {}

    /** Keeps the entity alive (and starts it where sharding placed it). */
    public enum Ping implements Command {
        INSTANCE
    }

    /** The answer to {@link Generate}. */
    public sealed interface GenerateReply extends CborSerializable permits Accepted, Refused {}

    /**
     * The turn is this replica's. Its events arrive through {@code events}: {@link TurnStarted}
     * first, or a single {@link TurnRefused} when the prompt turns out to be unservable (too long,
     * a template error).
     */
    public record Accepted(String requestId, String replica, SourceRef<TurnEvent> events) implements GenerateReply {}

    /**
     * What flows from a replica to the gateway for one turn. A refusal travels in the stream, not
     * as a stream failure: a stream ref carries a failure's message but not its type, and the
     * gateway must tell a refused request (answer the client) from a lost replica (resume).
     */
    public sealed interface TurnEvent extends CborSerializable
            permits TurnStarted, TurnToken, TurnFinished, TurnRefused {}

    public record TurnStarted(String requestId, String replica, int promptTokens, int cachedTokens)
            implements TurnEvent {}

    /** {@code own}: the token's own text for log-probabilities, when asked (see GenerationEvent.Token). */
    public record TurnToken(
            int tokenId, String text, float logprob, java.util.List<GenerationEvent.TopLogprob> top, String own)
            implements TurnEvent {

        public TurnToken(int tokenId, String text, float logprob, java.util.List<GenerationEvent.TopLogprob> top) {
            this(tokenId, text, logprob, top, null);
        }
    }

    /** {@code prompt}: the prompt's scores when the request asked for them (else null). */
    public record TurnFinished(
            io.kvasir.fabric.api.FinishReason reason,
            int promptTokens,
            int completionTokens,
            int cachedTokens,
            GenerationEvent.PromptResult prompt)
            implements TurnEvent {
        public TurnFinished(
                io.kvasir.fabric.api.FinishReason reason, int promptTokens, int completionTokens, int cachedTokens) {
            this(reason, promptTokens, completionTokens, cachedTokens, null);
        }
    }

    public record TurnRefused(FabricException.Kind kind, String message, String param) implements TurnEvent {
        public FabricException toException() {
            return new FabricException(kind, message, param, 0);
        }
    }

    /** This replica cannot take the turn now (loading, draining, stopping): place it elsewhere. */
    public record Refused(String replica, String reason) implements GenerateReply {}

    /** A turn ended normally: its conversation now spans {@code conversationTokens} cached tokens here. */
    public record TurnEnded(String requestId, String replica, int conversationTokens) implements CborSerializable {}

    /**
     * A replica's load, as it reports it, and the prefix-chain links of the turns it served lately
     * (what its prefix cache is likely to hold; see {@link io.kvasir.fabric.routing.PrefixChain}).
     * {@code down}: the replica is listed but takes no turns (an external endpoint whose circuit
     * breaker is open); it is shown in the admin view and never routed to. {@code engine}: what
     * serves it ({@code local}, or {@code openai-http <endpoint>}), and why it is down when it is.
     * {@code health}: its health checks and their verdict, which routing obeys.
     */
    public record LoadReport(
            String replica,
            String model,
            String node,
            String pool,
            ReplicaLoad load,
            long[] prefixes,
            ActorRef<Command> ref,
            boolean down,
            String engine,
            io.kvasir.fabric.health.HealthReport health)
            implements CborSerializable {

        public LoadReport {
            health = health == null ? io.kvasir.fabric.health.HealthReport.UNCHECKED : health;
        }

        /** A report with no health checks (an external endpoint: its breaker says whether it is down). */
        public LoadReport(
                String replica,
                String model,
                String node,
                String pool,
                ReplicaLoad load,
                long[] prefixes,
                ActorRef<Command> ref,
                boolean down,
                String engine) {
            this(replica, model, node, pool, load, prefixes, ref, down, engine, null);
        }

        public LoadReport withHealth(io.kvasir.fabric.health.HealthReport health) {
            return new LoadReport(replica, model, node, pool, load, prefixes, ref, down, engine, health);
        }

        /** A local replica's report: up, on Kvasir's own engine. */
        public LoadReport(
                String replica,
                String model,
                String node,
                String pool,
                ReplicaLoad load,
                long[] prefixes,
                ActorRef<Command> ref) {
            this(replica, model, node, pool, load, prefixes, ref, false, "local");
        }
    }

    /** Messages a replica sends itself (from its engine thread, render thread and children). */
    sealed interface Internal extends Command {}

    /** The engine loaded; what it measured unloaded, before any turn (zeros where it measured nothing). */
    record Loaded(LoneStepProbe.Unloaded unloaded) implements Internal {}

    /** @param stamp the model's file when the load failed for good (see LoadFailures); null otherwise */
    record EngineStopped(String reason, String stamp) implements Internal {

        EngineStopped(String reason) {
            this(reason, null);
        }
    }

    public enum Stop implements Internal {
        INSTANCE
    }

    /** A turn's prompt is rendered ({@code prompt} non-null) or refused ({@code refusal} non-null). */
    record Rendered(String requestId, PreparedTurn prompt, FabricException refusal) implements Internal {}

    /** How much of a rendered prompt this replica holds cached (disaggregated models only). */
    record CacheChecked(String requestId, int cachedTokens) implements Internal {}

    /** A prefill replica's KV for the turn arrived ({@code transfer} null: it did not; compute here). */
    record PrefillFinished(String requestId, KvTransfer transfer) implements Internal {}

    /** A turn ended normally on the engine: record its prefix, tell its session. */
    record TurnCompleted(String requestId, long[] prefixChain, ActorRef<TurnEnded> turnEnded, int conversationTokens)
            implements Internal {}

    /**
     * A turn's stream is over (finished, failed, cancelled): forget the turn, if {@code engineId} is
     * still its run (an abandoned turn placed here again has a new run by the time the old one ends).
     */
    record StreamEnded(String requestId, String engineId) implements Internal {}

    /** The engine's load was read: for {@code replyTo}, or (null) to publish on the load topic. */
    record LoadRead(ActorRef<LoadReport> replyTo, io.kvasir.engine.core.EngineStats stats) implements Internal {}

    enum PublishLoad implements Internal {
        INSTANCE
    }

    record PrefillComputed(Prefill request, KvTransfer transfer, String error) implements Internal {}
}
