package io.kvasir.fabric.responses;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Retention rules with a fake clock: expiry, eviction of the oldest past each bound, and scopes. */
class ResponseRetentionTest {

    private static final Duration TTL = Duration.ofMinutes(10);

    static StoredResponse response(String id, String owner, long createdAt, int textChars) {
        return new StoredResponse(id, owner, createdAt, null, "s-" + id, "[]", "x".repeat(textChars));
    }

    @Test
    void aResponseExpiresExactlyAtItsTtl() {
        ResponseRetention retention = new ResponseRetention(TTL, 100, 1 << 20, 1);
        StoredResponse r = response("a", "", 1_000, 10);

        assertThat(retention.expired(r, 1_000 + TTL.toMillis() - 1)).isFalse();
        assertThat(retention.expired(r, 1_000 + TTL.toMillis())).isTrue();
        assertThat(retention.toEvict(List.of(r), 1_000 + TTL.toMillis())).containsExactly("a");
    }

    @Test
    void pastTheCountBoundTheOldestGoFirst() {
        ResponseRetention retention = new ResponseRetention(TTL, 2, 1 << 20, 1);
        List<StoredResponse> shard =
                List.of(response("new", "", 3_000, 1), response("old", "", 1_000, 1), response("mid", "", 2_000, 1));

        assertThat(retention.toEvict(shard, 3_000)).containsExactly("old");
    }

    @Test
    void pastTheByteBoundTheOldestGoUntilTheRestFits() {
        StoredResponse old = response("old", "", 1_000, 400);
        StoredResponse mid = response("mid", "", 2_000, 400);
        StoredResponse recent = response("new", "", 3_000, 400);
        // Room for two of them, not three.
        ResponseRetention retention = new ResponseRetention(TTL, 100, old.bytes() * 2 + 10, 1);

        assertThat(retention.toEvict(List.of(recent, mid, old), 3_000)).containsExactly("old");
    }

    @Test
    void boundsHoldPerShardAsEachShardsShare() {
        ResponseRetention retention = new ResponseRetention(TTL, 10, 1000, 4);

        assertThat(retention.maxPerShard()).isEqualTo(3);
        assertThat(retention.maxBytesPerShard()).isEqualTo(250);
        assertThat(retention.shardOf("resp_1")).isBetween(0, 3);
    }

    @Test
    void theLocalStoreForgetsExpiredResponsesAndKeepsScopesApart() throws Exception {
        AtomicLong now = new AtomicLong(10_000);
        LocalResponseStore store = new LocalResponseStore(new ResponseRetention(TTL, 2, 1 << 20, 1), now::get);
        store.put(response("a", "tenant-a", now.get(), 10));

        assertThat(store.get("tenant-a", "a").toCompletableFuture().get()).isPresent();
        assertThat(store.get("tenant-b", "a").toCompletableFuture().get()).isEmpty();
        assertThat(store.delete("tenant-b", "a").toCompletableFuture().get()).isFalse();

        now.addAndGet(TTL.toMillis());
        assertThat(store.get("tenant-a", "a").toCompletableFuture().get()).isEmpty();
        // The next put sweeps it out.
        store.put(response("b", "tenant-a", now.get(), 10));
        assertThat(store.size()).isEqualTo(1);
    }

    @Test
    void theLocalStoreEvictsTheOldestPastItsBound() throws Exception {
        AtomicLong now = new AtomicLong(0);
        LocalResponseStore store = new LocalResponseStore(new ResponseRetention(TTL, 2, 1 << 20, 1), now::get);
        for (String id : List.of("first", "second", "third")) {
            now.addAndGet(1_000);
            store.put(response(id, "", now.get(), 10));
        }

        assertThat(store.get("", "first").toCompletableFuture().get()).isEqualTo(Optional.empty());
        assertThat(store.get("", "second").toCompletableFuture().get()).isPresent();
        assertThat(store.get("", "third").toCompletableFuture().get()).isPresent();
    }
}
