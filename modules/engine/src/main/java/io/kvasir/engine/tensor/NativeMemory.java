package io.kvasir.engine.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Large native allocations for copies of weights, outside the JVM's direct-memory limit.
 *
 * <p>{@code Arena.allocate} counts against {@code -XX:MaxDirectMemorySize}, which defaults to the
 * heap size: a repacked multi-gigabyte model would then need a heap as large as the model. These
 * blocks come from the C allocator instead (64-byte aligned) and are freed when their segment
 * becomes unreachable. Needs native access ({@code --enable-native-access=ALL-UNNAMED}, which the
 * launcher and the test and benchmark JVMs set).
 *
 * <p>Advising the blocks as transparent huge pages was tried and measured no faster (a 107 MB
 * matrix streamed by one thread), so it is not done.
 */
final class NativeMemory {

    private static final long ALIGN = 64;
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        ALIGNED_ALLOC = linker.downcallHandle(
                libc.findOrThrow("aligned_alloc"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(libc.findOrThrow("free"), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    /** Bytes allocated here and not yet freed: what a model's repacked weights hold, measured. */
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Bytes ever allocated here: only grows, so a measurement of one model's allocation is not
     * disturbed by another model's memory being freed meanwhile (frees happen whenever the GC
     * collects a segment, on a cleaner thread).
     */
    private static final java.util.concurrent.atomic.AtomicLong ALLOCATED =
            new java.util.concurrent.atomic.AtomicLong();

    private NativeMemory() {}

    static long live() {
        return LIVE.get();
    }

    static long allocated() {
        return ALLOCATED.get();
    }

    /** {@code bytes} of uninitialized native memory, freed once the returned segment is unreachable. */
    static MemorySegment allocate(long bytes, String purpose) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation size must be positive, got " + bytes);
        }
        // aligned_alloc wants a size that is a multiple of the alignment.
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN;
        MemorySegment block;
        try {
            block = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGN, size);
        } catch (Throwable t) {
            throw new IllegalStateException("native allocation for " + purpose + " failed", t);
        }
        if (block.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("cannot allocate " + size + " bytes of native memory for " + purpose);
        }
        LIVE.addAndGet(size);
        ALLOCATED.addAndGet(size);
        final long counted = size;
        return block.reinterpret(bytes, Arena.ofAuto(), b -> {
            LIVE.addAndGet(-counted);
            free(b);
        });
    }

    private static void free(MemorySegment block) {
        try {
            FREE.invokeExact(block);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
