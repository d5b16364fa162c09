package io.kvasir.fabric.external;

import akka.Done;
import akka.NotUsed;
import akka.http.javadsl.model.HttpResponse;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEvent;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnFinished;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnRefused;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One turn's stream from an engine's response body to the gateway's stream ref. Demand is the
 * reader's all the way: the stream ref asks for a few events, the translator for a few lines, the
 * entity for a few bytes; when none is asked for, akka-http stops reading the socket and TCP's
 * window closes on the engine. When the reader cancels (a client gone, a turn abandoned), the
 * cancellation reaches the entity and akka-http closes the connection, which vLLM and llama.cpp
 * take as an abort of the request. The stream ends after the turn's last event, so a malformed
 * line also closes the connection at once.
 *
 * @param ref        what the gateway reads
 * @param killSwitch aborts the turn from the replica's side (abandoned, replica stopping)
 * @param ended      completes when the stream is over, normally, cancelled or failed
 * @param translator holds what the turn ended with, once {@code ended} completed
 */
record UpstreamTurn(
        SourceRef<TurnEvent> ref,
        UniqueKillSwitch killSwitch,
        CompletionStage<Done> ended,
        StreamTranslator translator) {

    static UpstreamTurn open(
            HttpResponse response,
            StreamTranslator translator,
            Duration firstTokenTimeout,
            Duration stallTimeout,
            Materializer materializer) {
        return run(body(response, translator), translator, firstTokenTimeout, stallTimeout, materializer);
    }

    /**
     * A turn whose engine has not answered yet (it holds its status until the first token, as
     * llama.cpp's server does): the stream waits for the answer under {@code firstTokenTimeout},
     * then reads the body as {@link #open} does. An answer that turns the turn away fails the stream
     * before any token, which the gateway resumes on another replica: a 429 as a busy engine (not
     * held against its breaker), any other 5xx as a failure of the endpoint; a 4xx is the engine's
     * refusal of the request. A stream that ends before the answer came (the reader left, the turn
     * was abandoned or timed out) closes the answer's connection when it comes, so the engine
     * aborts the request rather than generate it for nobody.
     */
    static UpstreamTurn awaiting(
            CompletionStage<HttpResponse> answer,
            StreamTranslator translator,
            Duration firstTokenTimeout,
            Duration stallTimeout,
            Materializer materializer) {
        AtomicBoolean taken = new AtomicBoolean();
        Source<TurnEvent, NotUsed> events = Source.completionStageSource(answer.thenApply(response -> {
                    if (!taken.compareAndSet(false, true)) {
                        close(response, materializer);
                        return Source.<TurnEvent>empty();
                    }
                    int status = response.status().intValue();
                    if (status == 200) {
                        return body(response, translator);
                    }
                    if (status == 429 || status >= 500) {
                        response.discardEntityBytes(materializer);
                        Throwable away = status == 429
                                ? new FabricException(
                                        FabricException.Kind.UNAVAILABLE, "the engine is busy (status 429)")
                                : new UpstreamError("status " + status + " to a turn");
                        return Source.<TurnEvent>failed(away);
                    }
                    return EngineRefusal.read(response, materializer);
                }))
                .mapMaterializedValue(m -> NotUsed.notUsed());
        UpstreamTurn turn = run(events, translator, firstTokenTimeout, stallTimeout, materializer);
        turn.ended()
                .whenComplete((done, failure) -> answer.thenAccept(response -> {
                    if (taken.compareAndSet(false, true)) {
                        close(response, materializer);
                    }
                }));
        return turn;
    }

    /** Cancels an answer's body unread: akka-http closes its connection, which the engine takes as an abort. */
    static void close(HttpResponse response, Materializer materializer) {
        response.entity().getDataBytes().runWith(Sink.cancelled(), materializer);
    }

    private static Source<TurnEvent, NotUsed> body(HttpResponse response, StreamTranslator translator) {
        return response.entity()
                .getDataBytes()
                .via(SseLines.dataPayloads())
                .mapConcat(translator::accept)
                .concatLazy(Source.lazySource(() -> Source.from(translator.end())))
                .takeWhile(e -> !(e instanceof TurnFinished) && !(e instanceof TurnRefused), true)
                .mapMaterializedValue(m -> NotUsed.notUsed());
    }

    /** A turn whose only event is already known (a refusal read from the engine's error reply). */
    static UpstreamTurn of(Source<TurnEvent, NotUsed> events, StreamTranslator translator, Materializer materializer) {
        return run(events, translator, Duration.ofDays(1), Duration.ofDays(1), materializer);
    }

    private static UpstreamTurn run(
            Source<TurnEvent, NotUsed> events,
            StreamTranslator translator,
            Duration firstTokenTimeout,
            Duration stallTimeout,
            Materializer materializer) {
        Pair<Pair<UniqueKillSwitch, CompletionStage<Done>>, SourceRef<TurnEvent>> m = events.via(
                        new StallGuard<>(firstTokenTimeout, stallTimeout))
                .viaMat(KillSwitches.single(), Keep.right())
                .watchTermination(Keep.both())
                .toMat(StreamRefs.sourceRef(), Keep.both())
                .run(materializer);
        return new UpstreamTurn(m.second(), m.first().first(), m.first().second(), translator);
    }
}
