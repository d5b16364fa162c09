package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ComputePoolsTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3})
    void everyIndexIsVisitedExactlyOnce(int threads) {
        try (ComputePool pool = ComputePools.create(threads)) {
            assertThat(pool.threads()).isEqualTo(threads);
            for (int n : new int[] {0, 1, 2, 5, 12, 100, 1001}) {
                for (int round = 0; round < 50; round++) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(n);
                    pool.parallelFor(n, (start, end) -> {
                        for (int i = start; i < end; i++) {
                            hits.incrementAndGet(i);
                        }
                    });
                    for (int i = 0; i < n; i++) {
                        assertThat(hits.get(i)).as("index %d of %d", i, n).isEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void workIsSharedWithNamedDaemonWorkers() {
        Set<Thread> seen = ConcurrentHashMap.newKeySet();
        try (ComputePool pool = ComputePools.create(3)) {
            // Usually the first round shows all three threads; the bound only guards a stuck pool.
            for (int round = 0; round < 2000 && seen.size() < 3; round++) {
                pool.parallelFor(64, (start, end) -> {
                    seen.add(Thread.currentThread());
                    long until = System.nanoTime() + 100_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                });
            }
            assertThat(seen).hasSize(3).contains(Thread.currentThread());
            assertThat(seen.stream().filter(t -> t != Thread.currentThread())).allSatisfy(t -> {
                assertThat(t.getName()).matches("kvasir-compute-[12]");
                assertThat(t.isDaemon()).isTrue();
            });
        }
        assertThat(seen.stream().filter(t -> t != Thread.currentThread())).allSatisfy(t -> {
            try {
                t.join(5000);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            assertThat(t.isAlive()).as("worker stopped after close").isFalse();
        });
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void exceptionsReachTheCallerAndThePoolStaysUsable(int threads) {
        try (ComputePool pool = ComputePools.create(threads)) {
            for (int failAt : new int[] {0, 50, 99}) {
                assertThatThrownBy(() -> pool.parallelFor(100, (start, end) -> {
                            if (failAt >= start && failAt < end) {
                                throw new IllegalStateException("boom at " + failAt);
                            }
                        }))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessage("boom at " + failAt);
            }
            AtomicIntegerArray hits = new AtomicIntegerArray(10);
            pool.parallelFor(10, (start, end) -> {
                for (int i = start; i < end; i++) {
                    hits.incrementAndGet(i);
                }
            });
            assertThat(hits.toString()).isEqualTo("[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
        }
    }

    @Test
    void nestedLoopsRunInline() {
        try (ComputePool pool = ComputePools.create(2)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(8 * 8);
            pool.parallelFor(8, (s, e) -> {
                for (int i = s; i < e; i++) {
                    int outer = i;
                    pool.parallelFor(8, (s2, e2) -> {
                        for (int j = s2; j < e2; j++) {
                            hits.incrementAndGet(outer * 8 + j);
                        }
                    });
                }
            });
            for (int i = 0; i < 64; i++) {
                assertThat(hits.get(i)).isEqualTo(1);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> ComputePools.create(0)).isInstanceOf(IllegalArgumentException.class);
        try (ComputePool pool = ComputePools.create(2)) {
            assertThatThrownBy(() -> pool.parallelFor(-1, (s, e) -> {})).isInstanceOf(IllegalArgumentException.class);
        }
        ComputePool closed = ComputePools.create(2);
        closed.close();
        assertThatThrownBy(() -> closed.parallelFor(10, (s, e) -> {})).isInstanceOf(IllegalStateException.class);
    }
}
