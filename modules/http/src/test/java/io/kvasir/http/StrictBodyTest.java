package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.stream.javadsl.Source;
import akka.util.ByteString;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class StrictBodyTest {

    private static final ActorTestKit kit = ActorTestKit.create("strict-body", TestServer.QUIET);
    private static final Materializer mat = Materializer.matFromSystem(kit.system());

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void aBodyThatArrivedWholeIsTakenAsItIs() throws Exception {
        var entity = HttpEntities.create(ContentTypes.APPLICATION_JSON, "{\"a\":1}");

        var bytes = StrictBody.of(entity, 1000, 100, mat).toCompletableFuture();

        assertThat(bytes).isDone(); // no stream was run for it
        assertThat(bytes.get().utf8String()).isEqualTo("{\"a\":1}");
    }

    @Test
    void aWholeBodyPastTheLimitFailsAsAkkaHttpWould() {
        var entity = HttpEntities.create(ContentTypes.APPLICATION_JSON, "x".repeat(101));

        assertThatThrownBy(() -> StrictBody.of(entity, 1000, 100, mat)
                        .toCompletableFuture()
                        .get())
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(EntityStreamSizeException.class)
                .satisfies(
                        e -> assertThat(((EntityStreamSizeException) e).limit()).isEqualTo(100));
    }

    @Test
    void aStreamedBodyIsCollectedWithinTheLimit() throws Exception {
        var chunks = Source.from(List.of(ByteString.fromString("{\"a\":"), ByteString.fromString("2}")));
        var entity = HttpEntities.createChunked(ContentTypes.APPLICATION_JSON, chunks);

        var bytes = StrictBody.of(entity, 5000, 100, mat).toCompletableFuture().get(5, TimeUnit.SECONDS);

        assertThat(bytes.utf8String()).isEqualTo("{\"a\":2}");
        var tooLong = HttpEntities.createChunked(
                ContentTypes.APPLICATION_JSON, Source.single(ByteString.fromString("y".repeat(200))));
        assertThatThrownBy(() -> StrictBody.of(tooLong, 5000, 100, mat)
                        .toCompletableFuture()
                        .get(5, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(EntityStreamSizeException.class);
    }

    @Test
    void aStreamedBodyPastTheLimitIsReadToItsEndBeforeItFails() throws Exception {
        var chunks = Source.range(1, 50)
                .map(i -> ByteString.fromString("z".repeat(10)))
                .watchTermination((mat, done) -> done);
        var ended = new java.util.concurrent.CompletableFuture<akka.Done>();
        var entity = HttpEntities.createChunked(ContentTypes.APPLICATION_JSON, chunks.mapMaterializedValue(done -> {
            done.whenComplete((d, e) -> {
                if (e == null) {
                    ended.complete(d);
                } else {
                    ended.completeExceptionally(e);
                }
            });
            return akka.NotUsed.getInstance();
        }));

        assertThatThrownBy(() -> StrictBody.of(entity, 5000, 100, mat)
                        .toCompletableFuture()
                        .get(5, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(EntityStreamSizeException.class)
                .satisfies(e -> {
                    assertThat(((EntityStreamSizeException) e).limit()).isEqualTo(100);
                    assertThat(((EntityStreamSizeException) e).actualSize().get())
                            .isEqualTo(500L);
                });
        // Completed, not cancelled: all 500 bytes were read.
        assertThat(ended.get(5, TimeUnit.SECONDS)).isEqualTo(akka.Done.getInstance());
    }

    @Test
    void theDrainedPartIsTheLimitAgainAndAtLeastAMebibyte() {
        assertThat(StrictBody.drainLimit(4L << 20)).isEqualTo(8L << 20);
        assertThat(StrictBody.drainLimit(1000)).isEqualTo(1000 + (1L << 20));
        assertThat(StrictBody.drainLimit(Long.MAX_VALUE - 5)).isEqualTo(Long.MAX_VALUE);
    }
}
