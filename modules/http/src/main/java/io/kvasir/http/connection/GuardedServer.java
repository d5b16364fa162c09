package io.kvasir.http.connection;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.event.Logging;
import akka.event.LoggingAdapter;
import akka.http.javadsl.Http;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.settings.ServerSettings;
import akka.japi.function.Function;
import akka.stream.ActorAttributes;
import akka.stream.Materializer;
import akka.stream.TLSProtocol;
import akka.stream.javadsl.BidiFlow;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.TLS;
import akka.stream.javadsl.TLSPlacebo;
import akka.stream.javadsl.Tcp;
import akka.util.ByteString;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * Binds a route the way {@code Http.newServerAt(...).bind(route)} does, but assembles each
 * connection itself (TCP, then a {@link ConnectionGuard}, then akka-http's server layer, then the
 * route) because akka-http offers no hook below its parser, where a header-read timeout has to
 * live. What {@code newServerAt} would add is done here: at most {@code max-connections}
 * connections at a time (further ones wait in the accept backlog) and graceful termination
 * ({@link HttpBinding}). akka-http's own connection idle timeout is not used; the guard's replaces it.
 */
public final class GuardedServer {

    /** Connections' own dispatcher (see {@code kvasir.http.dispatcher} in reference.conf). */
    static final String DISPATCHER = "kvasir.http.dispatcher";

    private GuardedServer() {}

    public static CompletionStage<HttpBinding> bind(
            ActorSystem<?> system,
            String host,
            int port,
            ServerSettings settings,
            ConnectionLimits limits,
            Route route) {
        return bind(system, host, port, settings, limits, route, Optional.empty());
    }

    /** As above; with {@code tls} present every connection is HTTPS with that server context. */
    public static CompletionStage<HttpBinding> bind(
            ActorSystem<?> system,
            String host,
            int port,
            ServerSettings settings,
            ConnectionLimits limits,
            Route route,
            Optional<SSLContext> tls) {
        Materializer materializer = Materializer.matFromSystem(system);
        LoggingAdapter log = Logging.getLogger(system.classicSystem(), GuardedServer.class);
        Function<HttpRequest, CompletionStage<HttpResponse>> handler = route.handler(system);
        OpenConnections open = new OpenConnections();
        // akka-http's server layer is one blueprint for every connection, built here once: composing
        // it per connection cost about a millisecond each, on the one stage that accepts them all.
        BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> httpLayer = Http.get(system)
                .serverLayer(settings, Optional.empty(), log)
                .atop(tls.map(GuardedServer::serverTls).orElseGet(GuardedServer::plainText));
        Executor setup = system.executionContext();
        return Tcp.get(system)
                .bind(host, port, limits.acceptBacklog(), settings.getSocketOptions(), false, Optional.empty())
                // Each element completes when its connection has closed: this bounds how many are open.
                // Connections are set up on the dispatcher, not in this stage, so that a burst of
                // them is materialized on every core rather than one after another here.
                .mapAsyncUnordered(limits.maxConnections(), incoming -> {
                    // Its first request is timed from here (see RequestArrival), set-up included.
                    long accepted = System.nanoTime();
                    return CompletableFuture.supplyAsync(
                                    () -> serve(
                                            incoming,
                                            accepted,
                                            httpLayer,
                                            settings,
                                            limits,
                                            handler,
                                            open,
                                            log,
                                            materializer),
                                    setup)
                            .thenCompose(closed -> closed)
                            // A set-up the dispatcher refused (it is stopping) must not end the accept loop.
                            .exceptionally(failure -> Done.getInstance());
                })
                .to(Sink.ignore())
                .run(materializer)
                .thenApply(tcp -> new HttpBinding(tcp, open));
    }

    private static CompletionStage<Done> serve(
            Tcp.IncomingConnection incoming,
            long acceptedNanos,
            BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> httpLayer,
            ServerSettings settings,
            ConnectionLimits limits,
            Function<HttpRequest, CompletionStage<HttpResponse>> handler,
            OpenConnections open,
            LoggingAdapter log,
            Materializer materializer) {
        Connection connection = new Connection(open, acceptedNanos);
        try {
            BidiFlow<HttpResponse, ByteString, ByteString, HttpRequest, NotUsed> layers =
                    httpLayer.atop(BidiFlow.fromGraph(new ConnectionGuard(limits, connection)));
            Flow<HttpRequest, HttpResponse, NotUsed> exchanges = ExchangeTracking.around(
                    Flow.of(HttpRequest.class).mapAsync(settings.getPipeliningLimit(), handler::apply), connection);
            // The dispatcher is set on the whole graph, TCP stage included: a fused graph runs where
            // its outermost attributes say, and one set on a part of it is not seen.
            incoming.flow()
                    .join(layers.reversed().join(exchanges))
                    .addAttributes(ActorAttributes.dispatcher(DISPATCHER))
                    .run(materializer);
        } catch (RuntimeException e) {
            // One connection that cannot be set up must not end the accept loop.
            log.warning("Could not serve a connection from {}: {}", incoming.remoteAddress(), e.toString());
            return CompletableFuture.completedFuture(Done.getInstance());
        }
        return connection.closed();
    }

    /**
     * TLS under the HTTP layer and above the connection guard, so the guard's timeouts count every
     * byte, handshake included. A fresh engine per connection; the client is not asked for a cert.
     */
    private static BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed>
            serverTls(SSLContext context) {
        return TLS.create(
                () -> {
                    SSLEngine engine = context.createSSLEngine();
                    engine.setUseClientMode(false);
                    return engine;
                },
                akka.stream.IgnoreComplete$.MODULE$);
    }

    /** No TLS: the server layer's TLS-shaped ends joined to plain bytes. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static BidiFlow<TLSProtocol.SslTlsOutbound, ByteString, ByteString, TLSProtocol.SslTlsInbound, NotUsed>
            plainText() {
        // TLSPlacebo emits SessionBytes, a subtype of SslTlsInbound; Java generics need the widening spelled out.
        return (BidiFlow) TLSPlacebo.getInstance();
    }
}
