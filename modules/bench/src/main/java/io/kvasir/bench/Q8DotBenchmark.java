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
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The choice behind the Q8_0 single-row kernel, single-threaded on a 768 x 768 matrix:
 * {@code engine} is the shipped kernel (int8 weights widened to float, float FMA with the float
 * activations); {@code int8Activations} quantizes the activations to int8 blocks first, as
 * llama.cpp does, and multiplies in 16-bit integer lanes. Java's Vector API has no int8 dot-product
 * instruction (VNNI), so the integer products have to be widened twice and converted back to float
 * per block, which costs more than widening the weights once. Only 512-bit vectors are exercised.
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
public class Q8DotBenchmark {

    private static final int ROWS = 768;
    private static final int COLS = 768;
    private static final int ROW_BYTES = COLS / 32 * 34;
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Arena arena;
    private MemorySegment data;
    private WeightMatrix matrix;
    private ComputePool pool;
    private float[] x;
    private float[] out;
    private byte[] xq;
    private float[] xScale;

    @Setup(Level.Trial)
    public void setUp() {
        SplittableRandom random = new SplittableRandom(1);
        arena = Arena.ofShared();
        data = arena.allocate((long) ROW_BYTES * ROWS, 64);
        float[] row = new float[COLS];
        for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
                row[c] = (float) (random.nextDouble() * 2 - 1);
            }
            MemorySegment.copy(
                    Quantizer.quantize(GgmlType.Q8_0, row),
                    0,
                    data,
                    ValueLayout.JAVA_BYTE,
                    (long) r * ROW_BYTES,
                    ROW_BYTES);
        }
        matrix = WeightMatrices.of(GgmlType.Q8_0, data, ROWS, COLS);
        pool = ComputePools.create(1);
        x = new float[COLS];
        for (int i = 0; i < COLS; i++) {
            x[i] = (float) (random.nextDouble() * 2 - 1);
        }
        out = new float[ROWS];
        xq = new byte[COLS];
        xScale = new float[COLS / 32];
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

    @Benchmark
    public float[] int8Activations() {
        for (int b = 0; b < COLS / 32; b++) {
            float amax = 0;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[32 * b + i]));
            }
            float d = amax / 127f;
            float inv = d == 0 ? 0 : 1 / d;
            xScale[b] = d;
            for (int i = 0; i < 32; i++) {
                xq[32 * b + i] = (byte) Math.round(x[32 * b + i] * inv);
            }
        }
        for (int r = 0; r < ROWS; r++) {
            long offset = (long) r * ROW_BYTES;
            FloatVector acc = FloatVector.zero(FloatVector.SPECIES_512);
            for (int b = 0; b < COLS / 32; b++) {
                long at = offset + 34L * b;
                ShortVector w = (ShortVector)
                        ByteVector.fromMemorySegment(ByteVector.SPECIES_256, data, at + 2, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.B2S, ShortVector.SPECIES_512, 0);
                ShortVector a = (ShortVector) ByteVector.fromArray(ByteVector.SPECIES_256, xq, 32 * b)
                        .convertShape(VectorOperators.B2S, ShortVector.SPECIES_512, 0);
                ShortVector p = w.mul(a);
                IntVector sum = ((IntVector) p.convertShape(VectorOperators.S2I, IntVector.SPECIES_512, 0))
                        .add((IntVector) p.convertShape(VectorOperators.S2I, IntVector.SPECIES_512, 1));
                float scale = Float.float16ToFloat(data.get(HALF, at)) * xScale[b];
                acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.broadcast(FloatVector.SPECIES_512, scale), acc);
            }
            out[r] = acc.reduceLanes(VectorOperators.ADD);
        }
        return out;
    }
}
