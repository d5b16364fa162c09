package io.kvasir.fabric.health;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The few NVML calls the health monitor reads NVIDIA GPUs with, bound through the FFM API to
 * {@code libnvidia-ml.so.1} (the driver's library; nothing to build or ship). Signatures as NVML
 * documents them: every call returns an {@code nvmlReturn_t} (0 is success) and writes through
 * pointers; {@code nvmlDevice_t} is an opaque pointer; {@code nvmlUtilization_t} is two
 * {@code unsigned int}s (gpu, memory, in percent) and {@code nvmlMemory_t} three
 * {@code unsigned long long}s (total, free, used, in bytes); power is in milliwatts. A call that
 * fails leaves its figure NaN: one unsupported sensor does not hide the others.
 */
final class Nvml implements AutoCloseable {

    /** The library's name on Linux: the driver installs it. */
    static final String LIBRARY = "libnvidia-ml.so.1";

    private static final int SUCCESS = 0;
    private static final int TEMPERATURE_GPU = 0;

    /** One GPU's figures; NaN (or -1 for bytes) where NVML did not answer. */
    record Gpu(
            int index,
            double temperatureCelsius,
            double utilizationPercent,
            double memoryUtilizationPercent,
            long memoryTotalBytes,
            long memoryUsedBytes,
            double powerWatts) {}

    private final Arena arena;
    private final MethodHandle shutdown;
    private final MethodHandle count;
    private final MethodHandle handleByIndex;
    private final MethodHandle temperature;
    private final MethodHandle utilization;
    private final MethodHandle memoryInfo;
    private final MethodHandle powerUsage;
    private boolean closed;

    private Nvml(Arena arena, SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        this.arena = arena;
        this.shutdown = linker.downcallHandle(lib.findOrThrow("nvmlShutdown"), FunctionDescriptor.of(JAVA_INT));
        this.count = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetCount_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        this.handleByIndex = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetHandleByIndex_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        this.temperature = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetTemperature"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        this.utilization = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetUtilizationRates"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        this.memoryInfo = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetMemoryInfo"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        this.powerUsage = linker.downcallHandle(
                lib.findOrThrow("nvmlDeviceGetPowerUsage"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    /**
     * NVML from {@code library} (a name the dynamic linker resolves, or a path), initialised; empty
     * when the library is absent, lacks a symbol, or does not initialise (a driver without a GPU).
     * {@code why} receives the reason in one line.
     */
    static Optional<Nvml> load(String library, java.util.function.Consumer<String> why) {
        Arena arena = Arena.ofShared();
        try {
            SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
            Nvml nvml = new Nvml(arena, lib);
            MethodHandle init = Linker.nativeLinker()
                    .downcallHandle(lib.findOrThrow("nvmlInit_v2"), FunctionDescriptor.of(JAVA_INT));
            int rc = (int) init.invokeExact();
            if (rc != SUCCESS) {
                arena.close();
                why.accept("nvmlInit_v2 returned " + rc);
                return Optional.empty();
            }
            return Optional.of(nvml);
        } catch (Throwable t) {
            arena.close();
            why.accept(t.getMessage() == null ? t.toString() : t.getMessage());
            return Optional.empty();
        }
    }

    /** Every GPU's figures now; empty when the device count cannot be read. */
    synchronized List<Gpu> read() {
        if (closed) {
            return List.of();
        }
        try (Arena call = Arena.ofConfined()) {
            MemorySegment n = call.allocate(JAVA_INT);
            if ((int) count.invokeExact(n) != SUCCESS) {
                return List.of();
            }
            int devices = n.get(JAVA_INT, 0);
            List<Gpu> gpus = new ArrayList<>(devices);
            for (int i = 0; i < devices; i++) {
                MemorySegment handle = call.allocate(ADDRESS);
                if ((int) handleByIndex.invokeExact(i, handle) != SUCCESS) {
                    continue;
                }
                gpus.add(device(i, handle.get(ADDRESS, 0), call));
            }
            return gpus;
        } catch (Throwable t) {
            return List.of();
        }
    }

    private Gpu device(int index, MemorySegment device, Arena call) throws Throwable {
        MemorySegment temp = call.allocate(JAVA_INT);
        double celsius = (int) temperature.invokeExact(device, TEMPERATURE_GPU, temp) == SUCCESS
                ? Integer.toUnsignedLong(temp.get(JAVA_INT, 0))
                : Double.NaN;
        MemorySegment rates = call.allocate(8, 4); // nvmlUtilization_t { unsigned int gpu, memory; }
        boolean ratesOk = (int) utilization.invokeExact(device, rates) == SUCCESS;
        MemorySegment memory = call.allocate(24, 8); // nvmlMemory_t { unsigned long long total, free, used; }
        boolean memoryOk = (int) memoryInfo.invokeExact(device, memory) == SUCCESS;
        MemorySegment milliwatts = call.allocate(JAVA_INT);
        double watts = (int) powerUsage.invokeExact(device, milliwatts) == SUCCESS
                ? Integer.toUnsignedLong(milliwatts.get(JAVA_INT, 0)) / 1000.0
                : Double.NaN;
        return new Gpu(
                index,
                celsius,
                ratesOk ? Integer.toUnsignedLong(rates.get(JAVA_INT, 0)) : Double.NaN,
                ratesOk ? Integer.toUnsignedLong(rates.get(JAVA_INT, 4)) : Double.NaN,
                memoryOk ? memory.get(JAVA_LONG, 0) : -1,
                memoryOk ? memory.get(JAVA_LONG, 16) : -1,
                watts);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                int ignored = (int) shutdown.invokeExact();
            } catch (Throwable t) {
                // Shutting down: nothing left to tell.
            }
            arena.close();
        }
    }
}
