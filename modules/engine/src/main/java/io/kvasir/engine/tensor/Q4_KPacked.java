package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q4_K weights reordered for kernels that compute {@link #G} rows at once (nothing is
 * re-quantized: the same nibbles, 6-bit scales and mins, and fp16 super-block factors). Rows are
 * taken in groups of {@code G}; for each group and each 256-column super-block the copy holds
 *
 * <ul>
 *   <li>{@code G} fp16 {@code d}, then {@code G} fp16 {@code dmin} (at {@link #DMIN});
 *   <li>8 x {@code G} scale bytes, sub-block by sub-block (at {@link #SCALES}), then 8 x {@code G}
 *       min bytes (at {@link #MINS}), already unpacked from the 12-byte 6-bit packing;
 *   <li>4 x 32 x {@code G} nibble bytes (at {@link #QUANTS}): for each pair of sub-blocks and each
 *       two of its 32 byte positions {@code (l, l + 1)}, {@code l} even, the two bytes of each of
 *       the {@code G} rows side by side. Byte {@code l} of a sub-block pair holds the low nibble
 *       of column {@code 64 * pair + l} and the high nibble of column {@code 64 * pair + 32 + l}.
 * </ul>
 *
 * <p>Why two positions per row: the int8 kernel ({@link Q4_KInt8}) widens {@code 2 G} bytes to
 * 16-bit lanes that then alternate between columns {@code l} and {@code l + 1}, so its activation
 * vector is one broadcast int holding both columns' quants; with one position per {@code G}-byte
 * run it needed a stored vector per column pair, which spilled out of the L1 cache. The float
 * kernels take a pair's {@code G} shorts as ints and get four columns' nibbles from each.
 *
 * <p>Groups follow each other, each super-block after super-block. Rows past the end of the matrix
 * (the last group's padding) are zeros.
 *
 * <p>Memory: 148 bytes per row and super-block against the file's 144 (2.8% more, the unpacked
 * scales and mins). Pre-multiplying {@code d * scale} into float or fp16 scales was rejected: it
 * would add a further 7% or 3.5% to a stream that is bound by bytes (one byte to float widening per
 * sub-block and row is cheap next to the 32 nibbles it scales), and an fp16 product is not exact.
 *
 * @param data the repacked bytes, {@code groups * cols / 256 * G * 148} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q4_KPacked(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 256;
    private static final int SOURCE_BLOCK_BYTES = 144;
    static final long DMIN = 2L * G;
    static final long SCALES = 4L * G;
    static final long MINS = 12L * G;
    static final long QUANTS = 20L * G;
    /** Bytes of one (group, super-block). */
    static final long GROUP_BLOCK_BYTES = 148L * G;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Repacks a {@code rows x cols} Q4_K matrix laid out as in GGUF into native memory (see {@link NativeMemory}). */
    static Q4_KPacked pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        long rowBytes = (long) blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q4_K weights");
        byte[] out = new byte[(int) GROUP_BLOCK_BYTES];
        MemorySegment outSeg = MemorySegment.ofArray(out);
        byte[] block = new byte[SOURCE_BLOCK_BYTES];
        MemorySegment blockSeg = MemorySegment.ofArray(block);
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < blocks; b++) {
                java.util.Arrays.fill(out, (byte) 0);
                for (int i = 0; i < G; i++) {
                    int r = g * G + i;
                    if (r >= rows) {
                        break;
                    }
                    MemorySegment.copy(
                            src,
                            ValueLayout.JAVA_BYTE,
                            r * rowBytes + (long) b * SOURCE_BLOCK_BYTES,
                            block,
                            0,
                            SOURCE_BLOCK_BYTES);
                    outSeg.set(HALF, 2L * i, blockSeg.get(HALF, 0));
                    outSeg.set(HALF, DMIN + 2L * i, blockSeg.get(HALF, 2));
                    for (int j = 0; j < 8; j++) {
                        out[(int) SCALES + j * G + i] = (byte) KQuants.q4kScale(blockSeg, 4, j);
                        out[(int) MINS + j * G + i] = (byte) KQuants.q4kMin(blockSeg, 4, j);
                    }
                    for (int l = 0; l < 128; l++) {
                        out[(int) quantAt(l, i)] = block[16 + l];
                    }
                }
                MemorySegment.copy(
                        out, 0, dst, ValueLayout.JAVA_BYTE, ((long) g * blocks + b) * GROUP_BLOCK_BYTES, out.length);
            }
        }
        return new Q4_KPacked(dst, rows, cols, groups);
    }

    /** Dequantizes row {@code r} into {@code out[off .. off + cols)}, with the arithmetic of {@link KQuants#decodeQ4_K}. */
    void decodeRow(int r, float[] out, int off) {
        int g = r / G;
        int i = r % G;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(HALF, at + 2L * i));
            float dmin = Float.float16ToFloat(data.get(HALF, at + DMIN + 2L * i));
            for (int pair = 0; pair < 4; pair++) {
                float d1 = d * u8(at + SCALES + (2L * pair) * G + i);
                float m1 = dmin * u8(at + MINS + (2L * pair) * G + i);
                float d2 = d * u8(at + SCALES + (2L * pair + 1) * G + i);
                float m2 = dmin * u8(at + MINS + (2L * pair + 1) * G + i);
                for (int l = 0; l < 32; l++) {
                    int q = u8(at + quantAt(32 * pair + l, i));
                    out[off + b * BLOCK + 64 * pair + l] = d1 * (q & 0xF) - m1;
                    out[off + b * BLOCK + 64 * pair + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }

    /** Where byte {@code l} (0-127) of row {@code i}'s nibbles sits in a (group, super-block). */
    static long quantAt(int l, int i) {
        return QUANTS + (long) (l & ~1) * G + 2L * i + (l & 1);
    }

    private int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }
}
