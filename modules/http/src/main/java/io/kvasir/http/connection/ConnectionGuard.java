package io.kvasir.http.connection;

import akka.stream.Attributes;
import akka.stream.BidiShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogicWithLogging;
import akka.util.ByteString;
import java.time.Duration;

/**
 * Sits between a connection's TCP stream and akka-http's server layer, passing bytes through
 * unchanged, and closes the connection when it stops making progress. akka-http has no timeout for
 * reading request headers, and its idle timeout would also cut a request whose answer is still
 * being generated; this stage supplies both, as {@link ConnectionLimits} say:
 *
 * <ul>
 *   <li><b>Header read</b>: from the moment the connection opens, or the first byte of a further
 *       request arrives, until the parser reports the request's headers complete
 *       ({@link Connection.Signal#HEAD_RECEIVED}). A slowloris client that trickles header bytes
 *       is closed when it runs out, however busy it keeps the socket.</li>
 *   <li><b>Idle</b>: no bytes moving either way, while no request awaits its response. A request
 *       being answered is governed by akka-http's request timeout alone, so a long non-streamed
 *       generation is never cut here; a streamed body counts as progress while bytes move.</li>
 *   <li><b>Client gone</b>: the client closes its side while an answer is pending: the connection
 *       closes at once, which cancels the answer's stream and with it the generation.</li>
 * </ul>
 *
 * <p>Bytes alone cannot say where a request's headers end, so the HTTP layer above reports what
 * it parsed and answered through {@link Connection#signal}. One instance per connection: it is
 * given that connection's {@link Connection}.
 */
final class ConnectionGuard extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {

    private static final String DEADLINE = "deadline";
    /** First bytes read within this of the stage's start were already waiting when it started. */
    private static final long WAITING_BYTES_NANOS = 20_000_000L;

    /** No deadline applies: a request awaits its answer. */
    private static final long UNLIMITED = Long.MAX_VALUE;

    private final Inlet<ByteString> fromHttp = Inlet.create("ConnectionGuard.fromHttp");
    private final Outlet<ByteString> toNet = Outlet.create("ConnectionGuard.toNet");
    private final Inlet<ByteString> fromNet = Inlet.create("ConnectionGuard.fromNet");
    private final Outlet<ByteString> toHttp = Outlet.create("ConnectionGuard.toHttp");
    private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape =
            BidiShape.of(fromHttp, toNet, fromNet, toHttp);

    private final ConnectionLimits limits;
    private final Connection connection;

    ConnectionGuard(ConnectionLimits limits, Connection connection) {
        this.limits = limits;
        this.connection = connection;
    }

    @Override
    public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
        return shape;
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
        return new Logic();
    }

    private final class Logic extends TimerGraphStageLogicWithLogging {
        private final long headerNanos = limits.headerReadTimeout().toNanos();
        private final long idleNanos = limits.idleTimeout().toNanos();
        /**
         * Requests whose headers arrived and whose response has not started. A request akka-http
         * answers itself on its request timeout counts until the route's late answer passes
         * (akka-http drops it); Kvasir's routes always give one, as they cancel the generation at
         * that same timeout.
         */
        private int awaiting;
        /** Responses whose body is still being rendered. */
        private int streaming;
        /** Bytes of a request whose headers are not complete yet may be arriving. */
        private boolean headPending;

        private long headSince;
        /** When this stage started; 0 once the connection's first bytes came. */
        private long setUpAt;

        private boolean bytesWhileStreaming;
        private long lastActivity;
        private boolean terminating;

        Logic() {
            super(shape);
            connection.attach(createAsyncCallback(this::onSignal));
            setHandler(fromNet, new AbstractInHandler() {
                @Override
                public void onPush() {
                    onInbound();
                    push(toHttp, grab(fromNet));
                }

                @Override
                public void onUpstreamFinish() {
                    if (awaiting > 0 || streaming > 0) {
                        // The client closed its side while its answer is being made: it has gone
                        // (HTTP clients do not half-close to wait for an answer). Close the
                        // connection now, so the generation behind the answer is cancelled at once
                        // rather than at the next write, which for a long prompt comes only after
                        // its prefill.
                        completeStage();
                        return;
                    }
                    complete(toHttp);
                }

                @Override
                public void onUpstreamFailure(Throwable ex) {
                    fail(toHttp, ex);
                }
            });
            setHandler(toHttp, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    pull(fromNet);
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    cancel(fromNet, cause);
                }
            });
            setHandler(fromHttp, new AbstractInHandler() {
                @Override
                public void onPush() {
                    lastActivity = System.nanoTime();
                    push(toNet, grab(fromHttp));
                }

                @Override
                public void onUpstreamFinish() {
                    complete(toNet);
                }

                @Override
                public void onUpstreamFailure(Throwable ex) {
                    fail(toNet, ex);
                }
            });
            setHandler(toNet, new AbstractOutHandler() {
                @Override
                public void onPull() {
                    pull(fromHttp);
                }

                @Override
                public void onDownstreamFinish(Throwable cause) {
                    cancel(fromHttp, cause);
                }
            });
        }

        @Override
        public void preStart() {
            // A client opens a connection to send a request: its headers are due from now on.
            lastActivity = System.nanoTime();
            headPending = true;
            headSince = lastActivity;
            setUpAt = lastActivity;
            connection.onOpen();
            arm();
        }

        @Override
        public void postStop() {
            connection.onClose();
        }

        private void onInbound() {
            long now = System.nanoTime();
            lastActivity = now;
            if (setUpAt != 0) {
                // The connection's first bytes. Read at once, they were waiting while the server
                // accepted and set the connection up, and its first request counts from its
                // acceptance (the Connection's default); read later, the client connected first and
                // sent afterwards (a pooled, pre-opened connection), and it counts from now.
                if (now - setUpAt > WAITING_BYTES_NANOS) {
                    connection.requestStarted(now);
                }
                setUpAt = 0;
            }
            if (awaiting == 0 && streaming == 0 && !headPending) {
                headPending = true;
                headSince = now;
                connection.requestStarted(now);
                arm();
            } else if (streaming > 0 && awaiting == 0) {
                // A pipelined next request, whose head can be told apart only once this answer is done.
                bytesWhileStreaming = true;
            }
        }

        private void onSignal(Connection.Signal signal) {
            long now = System.nanoTime();
            switch (signal) {
                case HEAD_RECEIVED -> {
                    awaiting++;
                    headPending = false;
                }
                case RESPONSE_STARTED -> {
                    awaiting = Math.max(0, awaiting - 1);
                    streaming++;
                    lastActivity = now;
                }
                case RESPONSE_DONE -> {
                    streaming = Math.max(0, streaming - 1);
                    lastActivity = now;
                    if (bytesWhileStreaming && streaming == 0) {
                        bytesWhileStreaming = false;
                        headPending = true;
                        headSince = now;
                    }
                }
                case TERMINATE -> terminating = true;
                case CLOSE -> {
                    completeStage();
                    return;
                }
            }
            if (terminating && awaiting == 0 && streaming == 0) {
                completeStage();
                return;
            }
            arm();
        }

        /** Nanoseconds left before the connection must close, or {@link #UNLIMITED}. */
        private long remaining(long now) {
            if (awaiting > 0) {
                return UNLIMITED;
            }
            long left = idleNanos - (now - lastActivity);
            if (headPending) {
                left = Math.min(left, headerNanos - (now - headSince));
            }
            return left;
        }

        /**
         * (Re)schedules the one timer at the current deadline. Bytes only ever push the deadline
         * later, so they do not reschedule; the timer re-checks when it fires.
         */
        private void arm() {
            long left = remaining(System.nanoTime());
            if (left == UNLIMITED) {
                cancelTimer(DEADLINE);
            } else {
                scheduleOnce(DEADLINE, Duration.ofNanos(Math.max(0, left)));
            }
        }

        @Override
        public void onTimer(Object key) {
            long left = remaining(System.nanoTime());
            if (left == UNLIMITED) {
                return;
            }
            if (left > 0) {
                scheduleOnce(DEADLINE, Duration.ofNanos(left));
                return;
            }
            log().debug(
                            "Closing a connection that made no progress: {}",
                            headPending
                                    ? "request headers incomplete (header-read-timeout " + limits.headerReadTimeout()
                                            + ")"
                                    : "idle (idle-timeout " + limits.idleTimeout() + ")");
            completeStage();
        }
    }
}
