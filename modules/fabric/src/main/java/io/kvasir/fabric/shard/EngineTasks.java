package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.LoadedModel;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica's work that runs on its engine thread (the {@link ModelShard} actor only queues it):
 * starting a generation, running a prefill for another replica, importing KV. Each task answers
 * its caller whatever happens, so no asker waits for a reply that will not come.
 */
final class EngineTasks {

    private static final Logger log = LoggerFactory.getLogger(EngineTasks.class);

    private final ReplicaId id;
    private final ModelSettings model;
    private final EngineLoop loop;
    private final Materializer materializer;
    private final int kvChunkBytes;

    EngineTasks(ReplicaId id, ModelSettings model, EngineLoop loop, Materializer materializer, int kvChunkBytes) {
        this.id = id;
        this.model = model;
        this.loop = loop;
        this.materializer = materializer;
        this.kvChunkBytes = kvChunkBytes;
    }

    /**
     * A decode replica with a prefill pool: a long uncached prompt goes to {@code prefillElsewhere};
     * anything else starts here at once.
     */
    void routeOrStart(ModelShard.Generate cmd, LoadedModel m, ActorRef<ModelShard.Command> self) {
        PromptCheck.Result checked = PromptCheck.check(cmd.request(), cmd.continuation(), m, model);
        if (checked.refused() == null
                && checked.prompt().length - m.engine().cachedPrefixLength(checked.prompt(), null) > model.prefillThreshold()) {
            self.tell(new ModelShard.PrefillElsewhere(cmd, checked.prompt()));
        } else {
            start(cmd, m);
        }
    }

    /** Renders, checks, adds and opens the stream; answers {@code Accepted} or {@code Refused}. */
    void start(ModelShard.Generate cmd, LoadedModel m) {
        PromptCheck.Result checked = PromptCheck.check(cmd.request(), cmd.continuation(), m, model);
        if (checked.refused() != null) {
            cmd.replyTo().tell(checked.refused());
            return;
        }
        int[] prompt = checked.prompt();
        try {
            int cached = m.engine().cachedPrefixLength(prompt, null);
            SourceRef<GenerationEvent> ref = loop.openStream(checked.toEngineRequest(cmd.requestId()),
                    new GenerationEvent.Started(cmd.requestId(), id.entityId(), prompt.length, cached),
                    tokens -> {
                        if (cmd.turnEnded() != null) {
                            cmd.turnEnded().tell(new ModelShard.TurnEnded(cmd.requestId(), id.entityId(), tokens));
                        }
                    });
            cmd.replyTo().tell(new ModelShard.Accepted(cmd.requestId(), id.entityId(), ref, prompt.length, cached));
        } catch (IllegalArgumentException e) {
            cmd.replyTo().tell(new ModelShard.Refused(FabricException.Kind.INVALID_REQUEST, e.getMessage(), null));
        } catch (RuntimeException e) {
            log.error("replica {} could not start {}", id, cmd.requestId(), e);
            cmd.replyTo().tell(new ModelShard.Refused(FabricException.Kind.INTERNAL,
                    "the replica could not start the request", null));
        }
    }

    /** Prefill only, then offer the prompt's KV as a chunked stream. */
    void prefill(ModelShard.Prefill cmd, LoadedModel m) {
        try {
            loop.runInternal(EngineRequest.of(cmd.requestId(), cmd.tokens(), SamplingParams.greedy(), 0), last -> {
                if (last.finish() == FinishReason.ERROR || last.finish() == FinishReason.ABORT) {
                    cmd.replyTo().tell(KvOffer.failed("prefill ended with " + last.finish()));
                    return;
                }
                KvTransfer kv = m.engine().exportPrefix(cmd.tokens(), null);
                cmd.replyTo().tell(KvOffer.of(kv, kvChunkBytes, materializer));
            });
        } catch (RuntimeException e) {
            cmd.replyTo().tell(KvOffer.failed("prefill could not start: " + e.getMessage()));
        }
    }

    /** Imports KV from a prefill replica; 0 tokens when it does not fit this engine. */
    void importKv(ModelShard.ImportKv cmd, LoadedModel m) {
        int tokens = 0;
        try {
            tokens = m.engine().importPrefix(cmd.transfer());
        } catch (RuntimeException e) {
            log.warn("replica {} could not import KV: {}", id, e.getMessage());
        }
        cmd.replyTo().tell(new ModelShard.KvImported(tokens));
    }
}
