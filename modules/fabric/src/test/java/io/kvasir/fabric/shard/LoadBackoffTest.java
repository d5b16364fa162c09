package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LoadBackoffTest {

    private static final Duration BASE = Duration.ofSeconds(2);
    private static final Duration MAX = Duration.ofSeconds(60);

    private final AtomicLong now = new AtomicLong();
    private final LoadBackoff backoff = new LoadBackoff(now::get);

    @Test
    void waitDoublesWithEachFailureInARowUpToTheMaximum() {
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isZero();

        backoff.failed("m:decode:0", "no such file");
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isEqualTo(Duration.ofSeconds(2));
        advance(Duration.ofMillis(1500));
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isEqualTo(Duration.ofMillis(500));
        advance(Duration.ofMillis(500));
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isZero();

        backoff.failed("m:decode:0", "no such file");
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isEqualTo(Duration.ofSeconds(4));
        for (int i = 0; i < 40; i++) {
            backoff.failed("m:decode:0", "still no file");
        }
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isEqualTo(MAX);
        assertThat(backoff.failures("m:decode:0")).isEqualTo(42);
        assertThat(backoff.lastFailure("m:decode:0")).contains("still no file");
        // Other replicas are not held back.
        assertThat(backoff.remaining("m:decode:1", BASE, MAX)).isZero();
    }

    @Test
    void aSuccessfulLoadForgetsTheFailures() {
        backoff.failed("m:decode:0", "out of memory");
        backoff.failed("m:decode:0", "out of memory");
        backoff.loaded("m:decode:0");

        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isZero();
        assertThat(backoff.failures("m:decode:0")).isZero();
        assertThat(backoff.lastFailure("m:decode:0")).isEmpty();
        backoff.failed("m:decode:0", "out of memory");
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isEqualTo(BASE);
    }

    @Test
    void aFailureForGoodHoldsTheReplicaBackUntilItsFileChanges() {
        backoff.failedForGood("m:decode:0", "model m: cannot serve m.gguf: not a GGUF file", "m.gguf 10 t1");

        assertThat(backoff.heldBack("m:decode:0", () -> "m.gguf 10 t1")).isTrue();
        advance(Duration.ofHours(1));
        assertThat(backoff.heldBack("m:decode:0", () -> "m.gguf 10 t1")).isTrue();
        assertThat(backoff.retryNote("m:decode:0")).isEqualTo("not retried until its file changes");
        // A replaced file is loaded at once, with no backoff to wait out.
        assertThat(backoff.heldBack("m:decode:0", () -> "m.gguf 12 t2")).isFalse();
        assertThat(backoff.remaining("m:decode:0", BASE, MAX)).isZero();
        assertThat(backoff.heldBack("m:decode:1", () -> "m.gguf 10 t1")).isFalse();
    }

    @Test
    void formatErrorsAreForGoodAndInputOutputErrorsAreNot() {
        assertThat(LoadFailures.forGood(new io.kvasir.engine.model.ModelLoadException("unsupported 'falco'")))
                .isTrue();
        assertThat(LoadFailures.forGood(new RuntimeException(new io.kvasir.engine.gguf.GgufException("bad magic"))))
                .isTrue();
        assertThat(LoadFailures.forGood(new io.kvasir.engine.gguf.GgufException(
                        "cannot read", new java.nio.file.NoSuchFileException("m.gguf"))))
                .isFalse();
        assertThat(LoadFailures.forGood(new IllegalStateException("model m needs about 4 GiB")))
                .isFalse();
        assertThat(LoadFailures.forGood(new io.kvasir.engine.hub.HubException("hub unreachable")))
                .isFalse();
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }
}
