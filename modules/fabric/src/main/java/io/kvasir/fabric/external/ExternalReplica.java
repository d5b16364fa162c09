package io.kvasir.fabric.external;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.actor.typed.pubsub.Topic;
import akka.actor.typed.receptionist.Receptionist;
import akka.http.javadsl.model.HttpResponse;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.PromptOptions;
import io.kvasir.fabric.routing.PrefixChain;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.PrefixMemory;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol.Accepted;
import io.kvasir.fabric.shard.ReplicaProtocol.Generate;
import io.kvasir.fabric.shard.ReplicaProtocol.GenerateReply;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.kvasir.fabric.shard.ReplicaProtocol.Refused;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnFinished;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnStarted;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A replica whose engine is an external OpenAI-compatible server (vLLM, SGLang, llama.cpp): the
 * same entity type and {@link ReplicaProtocol} as a {@link ModelShard}, so sessions, routing,
 * admission, drain and the admin view treat it like any replica. It holds no model; per turn it
 * checks the prompt against the endpoint's context, sends the streaming request and answers
 * {@link Accepted} once the engine has taken it (so a 429, a 503 or a refused connection is a
 * {@link Refused} the session places elsewhere), then pipes the engine's events to the gateway
 * ({@link UpstreamTurn}). Its load is what the engine's own metrics say ({@link EndpointHealth}),
 * and it is listed but {@code down} while the endpoint's circuit breaker is open or before the
 * endpoint first answered. Its prefix summary is the chains of the turns it served, an approximate
 * index of the engine's cache, since an external engine does not publish its blocks.
 */
public final class ExternalReplica extends AbstractBehavior<Object> {

    /** A turn this replica took, from its Generate until its stream ends. */
    private static final class Turn {
        final Generate request;
        final List<ActorRef<GenerateReply>> waiting = new ArrayList<>();
        Accepted accepted;
        UpstreamTurn upstream;
        /** The engine's answer to the turn's request, once sent. */
        CompletableFuture<HttpResponse> response;
        /** The prompt's length as counted before sending (0: not counted). */
        int promptTokens;
        /** When the replica took the turn (nanoTime): a failure of a turn taken before the last counted one is the same incident. */
        final long takenNanos = System.nanoTime();

        Turn(Generate request) {
            this.request = request;
            waiting.add(request.replyTo());
        }
    }

    private enum PublishLoad {
        INSTANCE
    }

    /** The prompt was checked against the context: its token count, or a refusal. */
    private record Checked(Turn turn, Integer promptTokens, Throwable failure) {}

    /** The engine answered the turn's request (its headers), or could not be reached. */
    private record Responded(Turn turn, int promptTokens, HttpResponse response, Throwable failure) {}

    /** A turn's stream is over; {@code failure} null when it finished or its reader left. */
    private record StreamEnded(Turn turn, Throwable failure) {}

    /** The engine has had the turn's request for the answer window without answering. */
    private record AnswerWindowPassed(Turn turn) {}

    /**
     * How long a turn waits for the engine's answer (its status) before the replica accepts it
     * anyway. An engine that refuses (429, 503) or fails (5xx) says so at once, and within this
     * window the session still places the turn elsewhere. An engine that has taken the request can
     * hold its status back until the first token (llama.cpp's server does, so that an error can
     * still be an HTTP status): past the window the turn is accepted and its stream waits, under
     * {@code first-token-timeout}, as the engine queues and prefills it. Waiting for the status
     * instead made the session's placement time out behind a busy engine's prefill, re-send the turn
     * while the engine still ran the first copy, and count the slowness as the endpoint's failure.
     */
    static final Duration ANSWER_WINDOW = Duration.ofMillis(1000);

    public static Behavior<ReplicaProtocol.Command> create(
            ReplicaId id, KvasirSettings settings, NodeState node, ActorRef<Topic.Command<LoadReport>> loadTopic) {
        return Behaviors.<Object>setup(ctx ->
                        Behaviors.withTimers(timers -> new ExternalReplica(ctx, timers, id, settings, node, loadTopic)))
                .narrow();
    }

    private final ReplicaId id;
    /** Its entity id, qualified with its region when the cluster has regions (see ReplicaId.qualified). */
    private final String name;

    private final KvasirSettings settings;
    private final ModelSettings model;
    private final ExternalSettings external;
    private final NodeState nodeState;
    private final String node;
    private final ActorRef<Topic.Command<LoadReport>> loadTopic;
    private final EndpointClient client;
    private final EndpointHealth health;
    private final PrefixMemory prefixes;
    private final Map<String, Turn> turns = new HashMap<>();
    private final TimerScheduler<Object> timers;
    private long avoidResumesUntil;
    private boolean listed;

    private ExternalReplica(
            ActorContext<Object> ctx,
            TimerScheduler<Object> timers,
            ReplicaId id,
            KvasirSettings settings,
            NodeState nodeState,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        super(ctx);
        this.timers = timers;
        this.id = id;
        this.name = ReplicaId.qualified(id.entityId(), ReplicaId.regionOf(ctx.getSystem()));
        this.settings = settings;
        this.model = settings.model(id.model())
                .orElseThrow(
                        () -> new IllegalArgumentException("replica " + id + " names a model that is not configured"));
        this.external = model.external();
        this.nodeState = nodeState;
        this.node = ctx.getSystem().address().toString();
        this.loadTopic = loadTopic;
        URI root = external.endpoints().get(external.resolveDns() ? 0 : id.index());
        this.client = new EndpointClient(ctx.getSystem(), root, external);
        this.health = new EndpointHealth(ctx, id, external, client, model.id());
        this.prefixes = new PrefixMemory(settings.prefixSummarySize());
        health.start(timers);
        if (loadTopic != null) {
            timers.startTimerWithFixedDelay(PublishLoad.INSTANCE, settings.publishInterval());
        }
        // Listed at once, down until the endpoint answers: the admin view shows an unreachable
        // endpoint as a replica that is down rather than not at all.
        ctx.getSystem().receptionist().tell(Receptionist.register(ModelShard.serviceKey(id.model()), self()));
        listed = true;
        ctx.getLog().info("replica {} fronts {} on {}", id, root, node);
    }

    private ActorRef<ReplicaProtocol.Command> self() {
        return getContext().getSelf().narrow();
    }

    @Override
    public Receive<Object> createReceive() {
        return newReceiveBuilder()
                .onMessage(Generate.class, this::onGenerate)
                .onMessage(ReplicaProtocol.Abandon.class, this::onAbandon)
                .onMessage(ReplicaProtocol.Prefill.class, this::onPrefill)
                .onMessage(ReplicaProtocol.GetLoad.class, get -> reportTo(get.replyTo()))
                .onMessageEquals(ReplicaProtocol.Ping.INSTANCE, this::onPing)
                .onMessageEquals(PublishLoad.INSTANCE, () -> reportTo(null))
                .onMessage(Checked.class, this::onChecked)
                .onMessage(Responded.class, this::onResponded)
                .onMessage(StreamEnded.class, this::onStreamEnded)
                .onMessage(AnswerWindowPassed.class, this::onAnswerWindowPassed)
                .onMessage(EndpointHealth.Message.class, m -> {
                    health.on(m);
                    return this;
                })
                .onMessageEquals(ReplicaProtocol.Stop.INSTANCE, Behaviors::stopped)
                .onSignal(PostStop.class, signal -> onPostStop())
                .build();
    }

    private Behavior<Object> onGenerate(Generate cmd) {
        Turn known = turns.get(cmd.requestId());
        if (known != null) {
            // The placer did not hear our answer and asks again: the same answer, or a place in line for it.
            if (known.accepted != null) {
                cmd.replyTo().tell(known.accepted);
            } else {
                known.waiting.add(cmd.replyTo());
            }
            return this;
        }
        String why = refusal(cmd);
        if (why != null) {
            cmd.replyTo().tell(new Refused(name, "replica " + id + " " + why));
            return this;
        }
        Turn turn = new Turn(cmd);
        turns.put(cmd.requestId(), turn);
        PromptOptions options = cmd.request().promptOptions();
        if (options != null && (options.scores() || options.tokenIds() != null)) {
            // Forwarded as text, the upstream would neither score the prompt nor read token ids.
            getContext()
                    .getSelf()
                    .tell(new Checked(
                            turn,
                            null,
                            new FabricException(
                                    FabricException.Kind.INVALID_REQUEST,
                                    "model '" + model.id()
                                            + "' is served by an external engine, which takes no token-id prompts,"
                                            + " prompt logprobs (echo) or embeddings",
                                    "prompt",
                                    0)));
            return this;
        }
        getContext()
                .pipeToSelf(
                        ContextCheck.check(
                                client,
                                cmd.request(),
                                external.upstreamModel(model.id()),
                                health.contextLength(),
                                external.probeTimeout()),
                        (tokens, failure) -> new Checked(turn, tokens, failure));
        return this;
    }

    /** Why this replica does not take {@code cmd} now, or null when it does. */
    private String refusal(Generate cmd) {
        if (!health.up()) {
            return "is down: " + health.why();
        }
        if (nodeState.draining()) {
            return "is draining";
        }
        if (cmd.continuation().length > 0 && System.nanoTime() < avoidResumesUntil) {
            // A turn failed here a moment ago; its resume (or any other) fares better elsewhere.
            return "failed a turn lately; resumed turns go elsewhere";
        }
        return null;
    }

    private Behavior<Object> onChecked(Checked checked) {
        Turn turn = checked.turn();
        if (turns.get(turn.request.requestId()) != turn) {
            return this; // abandoned meanwhile
        }
        Throwable cause = unwrap(checked.failure());
        if (cause instanceof FabricException refusal) {
            accept(
                    turn,
                    UpstreamTurn.of(
                            Source.single(new ReplicaProtocol.TurnRefused(
                                    refusal.kind(), refusal.getMessage(), refusal.param())),
                            null,
                            client.materializer()));
            return this;
        }
        int promptTokens = checked.promptTokens() == null ? 0 : checked.promptTokens();
        turn.promptTokens = promptTokens;
        Generate cmd = turn.request;
        turn.response = client.post(
                        UpstreamBody.path(cmd.request()),
                        UpstreamBody.of(cmd.request(), external.upstreamModel(model.id()), cmd.continuation().length))
                .toCompletableFuture();
        getContext()
                .pipeToSelf(turn.response, (response, failure) -> new Responded(turn, promptTokens, response, failure));
        // Within the session's placement wait, so that the session hears from this replica before it gives up.
        long window = Math.min(
                ANSWER_WINDOW.toMillis(),
                Math.max(100, settings.placementTimeout().toMillis() / 2));
        timers.startSingleTimer(turn.request.requestId(), new AnswerWindowPassed(turn), Duration.ofMillis(window));
        return this;
    }

    /** The engine holds its answer back (queueing or prefilling the turn): accept, and let the stream wait for it. */
    private Behavior<Object> onAnswerWindowPassed(AnswerWindowPassed passed) {
        Turn turn = passed.turn();
        if (turns.get(turn.request.requestId()) != turn || turn.accepted != null) {
            return this;
        }
        Generate cmd = turn.request;
        StreamTranslator translator = new StreamTranslator(
                new TurnStarted(cmd.requestId(), name, turn.promptTokens, 0),
                cmd.continuation().length,
                topLogprobs(cmd));
        accept(
                turn,
                UpstreamTurn.awaiting(
                        turn.response,
                        translator,
                        external.firstTokenTimeout(),
                        external.stallTimeout(),
                        client.materializer()));
        return this;
    }

    private Behavior<Object> onResponded(Responded responded) {
        Turn turn = responded.turn();
        HttpResponse response = responded.response();
        if (turns.get(turn.request.requestId()) != turn) {
            if (response != null && turn.accepted == null) {
                // Abandoned while the engine answered: nobody reads it, and the engine should stop.
                UpstreamTurn.close(response, client.materializer());
            }
            return this;
        }
        if (turn.accepted != null) {
            return this; // accepted when the answer window passed: its stream reads the answer
        }
        timers.cancel(turn.request.requestId());
        if (response == null) {
            health.failed("request failed: " + unwrap(responded.failure()).getMessage(), turn.takenNanos);
            return refuse(turn, "could not reach " + client.root());
        }
        int status = response.status().intValue();
        if (status == 200) {
            Generate cmd = turn.request;
            StreamTranslator translator = new StreamTranslator(
                    new TurnStarted(cmd.requestId(), name, responded.promptTokens(), 0),
                    cmd.continuation().length,
                    topLogprobs(cmd));
            accept(
                    turn,
                    UpstreamTurn.open(
                            response,
                            translator,
                            external.firstTokenTimeout(),
                            external.stallTimeout(),
                            client.materializer()));
            return this;
        }
        if (status == 429 || status >= 500) {
            // Busy or broken: another endpoint may take it. Only a broken one counts against its breaker.
            client.discard(response);
            if (status >= 500) {
                health.failed("status " + status + " to a turn", turn.takenNanos);
            }
            return refuse(turn, "got status " + status + " from " + client.root());
        }
        // The engine refuses the request itself (400, 404, 422): the client hears why, as Kvasir's error.
        accept(turn, UpstreamTurn.of(EngineRefusal.read(response, client.materializer()), null, client.materializer()));
        return this;
    }

    private Behavior<Object> refuse(Turn turn, String why) {
        turns.remove(turn.request.requestId());
        Refused refused = new Refused(name, "replica " + id + " " + why);
        turn.waiting.forEach(r -> r.tell(refused));
        return this;
    }

    private void accept(Turn turn, UpstreamTurn upstream) {
        turn.upstream = upstream;
        turn.accepted = new Accepted(turn.request.requestId(), name, upstream.ref());
        turn.waiting.forEach(r -> r.tell(turn.accepted));
        turn.waiting.clear();
        getContext().pipeToSelf(upstream.ended(), (done, failure) -> new StreamEnded(turn, unwrap(failure)));
    }

    private Behavior<Object> onStreamEnded(StreamEnded ended) {
        Turn turn = ended.turn();
        if (turns.get(turn.request.requestId()) == turn) {
            turns.remove(turn.request.requestId());
        }
        StreamTranslator translator = turn.upstream.translator();
        TurnFinished finished = translator == null ? null : translator.finishedWith();
        if (finished != null) {
            health.succeeded();
            prefixes.served(PrefixChain.of(turn.request.request()));
            if (turn.request.turnEnded() != null) {
                turn.request
                        .turnEnded()
                        .tell(new ReplicaProtocol.TurnEnded(
                                turn.request.requestId(), name, finished.promptTokens() + finished.completionTokens()));
            }
        } else if (ended.failure() != null && !(ended.failure() instanceof FabricException)) {
            getContext()
                    .getLog()
                    .warn(
                            "replica {}: turn {} failed upstream: {}",
                            id,
                            turn.request.requestId(),
                            ended.failure().getMessage());
            health.failed("turn failed: " + ended.failure().getMessage(), turn.takenNanos);
            avoidResumesUntil = System.nanoTime() + external.avoidResumes().toNanos();
        }
        return this;
    }

    private Behavior<Object> onAbandon(ReplicaProtocol.Abandon abandon) {
        Turn turn = turns.remove(abandon.requestId());
        if (turn != null && turn.upstream != null) {
            turn.upstream
                    .killSwitch()
                    .abort(new FabricException(FabricException.Kind.UNAVAILABLE, "the turn was abandoned"));
        }
        return this;
    }

    private Behavior<Object> onPrefill(ReplicaProtocol.Prefill prefill) {
        // Never asked: an external model has no prefill pool (its asker would time out and prefill itself).
        getContext().getLog().warn("replica {} is an external engine and takes no prefill work", id);
        return this;
    }

    /** A draining node's replica leaves the directories, so sessions stop choosing it. */
    private Behavior<Object> onPing() {
        if (listed && nodeState.draining()) {
            listed = false;
            getContext()
                    .getSystem()
                    .receptionist()
                    .tell(Receptionist.deregister(ModelShard.serviceKey(id.model()), self()));
        }
        return this;
    }

    private Behavior<Object> reportTo(ActorRef<LoadReport> replyTo) {
        LoadReport report = new LoadReport(
                name,
                id.model(),
                node,
                id.pool(),
                health.load(turns.size()),
                prefixes.snapshot(),
                self(),
                !health.up(),
                health.describe());
        if (replyTo != null) {
            replyTo.tell(report);
        } else if (loadTopic != null) {
            loadTopic.tell(Topic.publish(report));
        }
        return this;
    }

    private Behavior<Object> onPostStop() {
        FabricException gone = new FabricException(FabricException.Kind.UNAVAILABLE, "the replica stopped");
        for (Turn turn : turns.values()) {
            if (turn.upstream != null) {
                turn.upstream.killSwitch().abort(gone); // the gateway resumes the turn elsewhere
            } else if (turn.response != null) {
                turn.response.thenAccept(r -> UpstreamTurn.close(r, client.materializer()));
            }
        }
        turns.clear();
        return this;
    }

    private static int topLogprobs(Generate cmd) {
        var sampling = cmd.request().sampling();
        return sampling == null ? 0 : sampling.topLogprobs();
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
