package io.kvasir.fabric.metrics;

import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.micrometer.core.instrument.Clock;

/**
 * Passes a generation's events through unchanged and times them: it holds no element, pulls only
 * when its reader pulls, and so adds no buffer and changes no demand. The clock starts when the
 * stream is materialized, which for {@code Fabric.generate} is when the gateway takes the request.
 * Times are taken when an event passes here, so a reader that reads slowly stretches them: they are
 * the latencies the client sees.
 */
final class TimedStream extends GraphStage<FlowShape<GenerationEvent, GenerationEvent>> {

    private final Inlet<GenerationEvent> in = Inlet.create("TimedStream.in");
    private final Outlet<GenerationEvent> out = Outlet.create("TimedStream.out");
    private final FlowShape<GenerationEvent, GenerationEvent> shape = FlowShape.of(in, out);
    private final RequestMeters meters;
    private final Clock clock;

    TimedStream(RequestMeters meters, Clock clock) {
        this.meters = meters;
        this.clock = clock;
    }

    @Override
    public FlowShape<GenerationEvent, GenerationEvent> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        return new GraphStageLogic(shape) {
            private long receivedAt;
            private long lastTokenAt;
            private boolean placed;
            private boolean anyToken;
            private boolean ended;

            {
                setHandler(in, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        GenerationEvent event = grab(in);
                        observe(event);
                        push(out, event);
                    }

                    @Override
                    public void onUpstreamFinish() {
                        if (!ended) {
                            end(FinishReason.ERROR);
                        }
                        completeStage();
                    }

                    @Override
                    public void onUpstreamFailure(Throwable failure) {
                        if (!placed && failure instanceof FabricException refusal) {
                            // Refused before it was placed: counted by kind where it was refused.
                            if (refusal.kind() == FabricException.Kind.OVERLOADED) {
                                meters.rejected();
                            }
                            ended = true;
                        } else if (!ended) {
                            end(FinishReason.ERROR);
                        }
                        failStage(failure);
                    }
                });
                setHandler(out, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(in);
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) throws Exception {
                        if (!ended) {
                            end(FinishReason.ABORT);
                        }
                        super.onDownstreamFinish(cause);
                    }
                });
            }

            @Override
            public void preStart() {
                receivedAt = clock.monotonicTime();
            }

            private void observe(GenerationEvent event) {
                long now = clock.monotonicTime();
                switch (event) {
                    case GenerationEvent.Started s -> placed = true;
                    case GenerationEvent.Token t -> {
                        if (anyToken) {
                            meters.interToken(now - lastTokenAt);
                        } else {
                            meters.firstToken(now - receivedAt);
                            anyToken = true;
                        }
                        lastTokenAt = now;
                    }
                    case GenerationEvent.Finished f -> {
                        ended = true;
                        meters.finished(f, now - receivedAt);
                    }
                }
            }

            private void end(FinishReason reason) {
                ended = true;
                meters.ended(reason);
            }
        };
    }
}
