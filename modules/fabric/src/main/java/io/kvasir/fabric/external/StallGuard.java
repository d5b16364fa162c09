package io.kvasir.fabric.external;

import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import java.time.Duration;

/**
 * Fails a stream whose upstream keeps its reader waiting: the clock runs only while the reader has
 * asked for an element and none has come, so a slow reader (who asks rarely) never trips it, while
 * an engine that stops sending does. The first element may take {@code first} (the engine's queue
 * and prefill), each later one {@code between}.
 */
final class StallGuard<T> extends GraphStage<FlowShape<T, T>> {

    private static final String TIMER = "stall";

    private final Inlet<T> in = Inlet.create("StallGuard.in");
    private final Outlet<T> out = Outlet.create("StallGuard.out");
    private final FlowShape<T, T> shape = FlowShape.of(in, out);
    private final Duration first;
    private final Duration between;

    StallGuard(Duration first, Duration between) {
        this.first = first;
        this.between = between;
    }

    @Override
    public FlowShape<T, T> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new TimerGraphStageLogic(shape) {
            private boolean seenAny;

            {
                setHandler(in, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        cancelTimer(TIMER);
                        seenAny = true;
                        push(out, grab(in));
                    }
                });
                setHandler(out, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(in);
                        scheduleOnce(TIMER, seenAny ? between : first);
                    }
                });
            }

            @Override
            public void onTimer(Object key) {
                failStage(new UpstreamError("the engine sent nothing for " + (seenAny ? between : first).toMillis()
                        + " ms while the reader waited"));
            }
        };
    }
}
