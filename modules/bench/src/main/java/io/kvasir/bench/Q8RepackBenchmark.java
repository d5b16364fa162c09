package io.kvasir.bench;

import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.engine.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The choices behind the repacked Q8_0 single-row kernel, on one thread with 512-bit vectors:
 * {@code fileLayout} is the previous kernel (GGUF layout, four rows at a time, horizontal sums at
 * the end); the others read a copy where 16 rows' int8 weights of one column sit in one 16-byte
 * vector, so a block is 32 FMAs of a widened weight vector by a broadcast activation, with no
 * horizontal sums. {@code repacked} takes one 16-row group at a time, {@code repacked4} four groups
 * from the four quarters of the matrix (one broadcast feeds four FMAs, four memory streams),
 * {@code engine} is what ships ({@code repacked4} inside the engine's matmul), {@code repackedB2I}
 * widens through int lanes instead of {@code B2F}, {@code repackedHeap} reads a {@code byte[]}.
 *
 * <p>Medians measured on the 2-core AVX-512 machine (768 x 768 / 32000 x 768, us): fileLayout
 * 52.0 / 2241, repacked 34.0 / 1769, repacked4 25.1 / 1128, engine 25.3 / 1120, repackedB2I 33.3 /
 * 1925, repackedHeap 31.4 / 1845. With a 131072-row matrix (107 MB, past the caches): fileLayout
 * 10.0 ms, engine 5.4-7.3 ms. Also tried and dropped: four consecutive groups instead of four
 * quarters (5.9 vs 5.4 ms at 131072 rows), a scalar load 1-4 KiB ahead in each stream as a
 * prefetch (8.9-11.6 ms: much slower), huge-page advice on the copy (no difference).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-XX:Tier3DelayOn=100000"
        })
public class Q8RepackBenchmark {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final int G = 16;
    private static final int GROUP_BLOCK = G * 4 + 32 * G;

    @Param({"768", "32000"})
    public int rows;

    @Param({"768"})
    public int cols;

    private Arena arena;
    private MemorySegment data;
    private MemorySegment packed;
    private byte[] packedHeap;
    private WeightMatrix matrix;
    private ComputePool pool;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(1);
        int rowBytes = cols / 32 * 34;
        arena = Arena.ofShared();
        data = arena.allocate((long) rowBytes * rows, 64);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) (random.nextDouble() * 2 - 1);
            }
            MemorySegment.copy(
                    Quantizer.quantize(GgmlType.Q8_0, row),
                    0,
                    data,
                    ValueLayout.JAVA_BYTE,
                    (long) r * rowBytes,
                    rowBytes);
        }
        matrix = WeightMatrices.of(GgmlType.Q8_0, data, rows, cols);
        pool = ComputePools.create(1);
        x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) (random.nextDouble() * 2 - 1);
        }
        out = new float[rows];
        int blocks = cols / 32;
        int groups = rows / G;
        packed = arena.allocate((long) groups * blocks * GROUP_BLOCK, 64);
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < blocks; b++) {
                long dst = ((long) g * blocks + b) * GROUP_BLOCK;
                for (int i = 0; i < G; i++) {
                    long src = (long) (g * G + i) * rowBytes + 34L * b;
                    packed.set(FLOAT, dst + 4L * i, Float.float16ToFloat(data.get(HALF, src)));
                    for (int c = 0; c < 32; c++) {
                        packed.set(
                                ValueLayout.JAVA_BYTE,
                                dst + 4 * G + (long) c * G + i,
                                data.get(ValueLayout.JAVA_BYTE, src + 2 + c));
                    }
                }
            }
        }
        packedHeap = packed.toArray(ValueLayout.JAVA_BYTE);
        float[] ref = new float[rows];
        matrix.matmul(x, ref, 1, pool);
        for (float[] o : new float[][] {repacked(), repacked4(), repackedB2I(), repackedHeap(), fileLayout()}) {
            for (int r = 0; r < rows; r++) {
                if (Math.abs(o[r] - ref[r]) > 1e-3 * (1 + Math.abs(ref[r]))) {
                    throw new IllegalStateException("row " + r + ": " + o[r] + " vs " + ref[r]);
                }
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] engine() {
        matrix.matmul(x, out, 1, pool);
        return out;
    }

    /** The kernel before repacking (file layout, four rows from four quarters), kept for comparison. */
    @Benchmark
    public float[] fileLayout() {
        int quarter = rows / 4;
        for (int r = 0; r < quarter; r++) {
            fileDot4(r, quarter);
        }
        return out;
    }

    private void fileDot4(int r, int step) {
        long rowBytes = cols / 32 * 34L;
        long o0 = r * rowBytes;
        long o1 = o0 + step * rowBytes;
        long o2 = o1 + step * rowBytes;
        long o3 = o2 + step * rowBytes;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        int blocks = cols / 32;
        for (int b = 0; b < blocks; b++) {
            long bo = (long) b * 34;
            int xb = b * 32;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int i = 0; i < 32; i += 16) {
                FloatVector xv = FloatVector.fromArray(F, x, xb + i);
                s0 = ((FloatVector) ByteVector.fromMemorySegment(B, data, o0 + bo + 2 + i, LE)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(xv, s0);
                s1 = ((FloatVector) ByteVector.fromMemorySegment(B, data, o1 + bo + 2 + i, LE)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(xv, s1);
                s2 = ((FloatVector) ByteVector.fromMemorySegment(B, data, o2 + bo + 2 + i, LE)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(xv, s2);
                s3 = ((FloatVector) ByteVector.fromMemorySegment(B, data, o3 + bo + 2 + i, LE)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .fma(xv, s3);
            }
            acc0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(HALF, o0 + bo))), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(HALF, o1 + bo))), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(HALF, o2 + bo))), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, Float.float16ToFloat(data.get(HALF, o3 + bo))), acc3);
        }
        out[r] = acc0.reduceLanes(VectorOperators.ADD);
        out[r + step] = acc1.reduceLanes(VectorOperators.ADD);
        out[r + 2 * step] = acc2.reduceLanes(VectorOperators.ADD);
        out[r + 3 * step] = acc3.reduceLanes(VectorOperators.ADD);
    }

    /** One group at a time, four accumulators over the columns. */
    @Benchmark
    public float[] repacked() {
        int blocks = cols / 32;
        for (int g = 0; g < rows / G; g++) {
            FloatVector o = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++) {
                long at = ((long) g * blocks + b) * GROUP_BLOCK;
                long q = at + 4 * G;
                int xb = 32 * b;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < 32; c += 4) {
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, q + (long) c * G, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c]), a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 1) * G, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 1]), a1);
                    a2 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 2) * G, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 2]), a2);
                    a3 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 3) * G, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 3]), a3);
                }
                o = a0.add(a1).add(a2.add(a3)).fma(FloatVector.fromMemorySegment(F, packed, at, LE), o);
            }
            o.intoArray(out, g * G);
        }
        return out;
    }

    /** Same with B2I then I2F. */
    @Benchmark
    public float[] repackedB2I() {
        int blocks = cols / 32;
        for (int g = 0; g < rows / G; g++) {
            FloatVector o = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++) {
                long at = ((long) g * blocks + b) * GROUP_BLOCK;
                long q = at + 4 * G;
                int xb = 32 * b;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < 32; c += 4) {
                    a0 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, packed, q + (long) c * G, LE)
                                            .convertShape(VectorOperators.B2I, I, 0))
                                    .convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c]), a0);
                    a1 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 1) * G, LE)
                                            .convertShape(VectorOperators.B2I, I, 0))
                                    .convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 1]), a1);
                    a2 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 2) * G, LE)
                                            .convertShape(VectorOperators.B2I, I, 0))
                                    .convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 2]), a2);
                    a3 = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, packed, q + (long) (c + 3) * G, LE)
                                            .convertShape(VectorOperators.B2I, I, 0))
                                    .convert(VectorOperators.I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 3]), a3);
                }
                o = a0.add(a1).add(a2.add(a3)).fma(FloatVector.fromMemorySegment(F, packed, at, LE), o);
            }
            o.intoArray(out, g * G);
        }
        return out;
    }

    /** Heap byte[] copy of the packed layout. */
    @Benchmark
    public float[] repackedHeap() {
        int blocks = cols / 32;
        byte[] p = packedHeap;
        for (int g = 0; g < rows / G; g++) {
            FloatVector o = FloatVector.zero(F);
            for (int b = 0; b < blocks; b++) {
                int at = (g * blocks + b) * GROUP_BLOCK;
                int q = at + 4 * G;
                int xb = 32 * b;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < 32; c += 4) {
                    a0 = ((FloatVector) ByteVector.fromArray(B, p, q + c * G).convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c]), a0);
                    a1 = ((FloatVector)
                                    ByteVector.fromArray(B, p, q + (c + 1) * G).convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 1]), a1);
                    a2 = ((FloatVector)
                                    ByteVector.fromArray(B, p, q + (c + 2) * G).convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 2]), a2);
                    a3 = ((FloatVector)
                                    ByteVector.fromArray(B, p, q + (c + 3) * G).convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 3]), a3);
                }
                o = a0.add(a1).add(a2.add(a3)).fma(FloatVector.fromMemorySegment(F, packed, at, LE), o);
            }
            o.intoArray(out, g * G);
        }
        return out;
    }

    /** Four groups (from the four quarters) at a time: one broadcast feeds four FMAs. */
    @Benchmark
    public float[] repacked4() {
        int blocks = cols / 32;
        int groups = rows / G;
        int quarter = groups / 4;
        long step = (long) quarter * blocks * GROUP_BLOCK;
        for (int g = 0; g < quarter; g++) {
            FloatVector o0 = FloatVector.zero(F);
            FloatVector o1 = o0;
            FloatVector o2 = o0;
            FloatVector o3 = o0;
            for (int b = 0; b < blocks; b++) {
                long at = ((long) g * blocks + b) * GROUP_BLOCK;
                long q = at + 4 * G;
                int xb = 32 * b;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < 32; c++) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    long o = q + (long) c * G;
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, o, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(xv, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, o + step, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(xv, a1);
                    a2 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, o + 2 * step, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(xv, a2);
                    a3 = ((FloatVector) ByteVector.fromMemorySegment(B, packed, o + 3 * step, LE)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(xv, a3);
                }
                o0 = a0.fma(FloatVector.fromMemorySegment(F, packed, at, LE), o0);
                o1 = a1.fma(FloatVector.fromMemorySegment(F, packed, at + step, LE), o1);
                o2 = a2.fma(FloatVector.fromMemorySegment(F, packed, at + 2 * step, LE), o2);
                o3 = a3.fma(FloatVector.fromMemorySegment(F, packed, at + 3 * step, LE), o3);
            }
            o0.intoArray(out, g * G);
            o1.intoArray(out, (g + quarter) * G);
            o2.intoArray(out, (g + 2 * quarter) * G);
            o3.intoArray(out, (g + 3 * quarter) * G);
        }
        return out;
    }
}
