package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q6_K weights widened for kernels that compute {@link #G} rows at once: each six-bit quant
 * becomes a signed byte {@code q - 32}, nothing else changes, so every weight dequantizes to the
 * same float as from the file. Rows are taken in groups of {@code G}; for each group and each
 * 256-column super-block the copy holds {@code G} fp16 {@code d} (at {@link #D}), then one run of
 * {@link #RUN} bytes per scale, that is per 16 columns: the scale's {@code G} int8 values (at
 * {@link #scales}), then its 16 columns of {@code G} int8 quants, column by column (from {@link
 * #quants}), so that one {@code G}-byte load is one column of the whole group. Rows past the end of
 * the matrix are zeros. Each scale sits just before its columns, as Q8_0's do: with every scale of a
 * super-block gathered behind its 4 KB of quants instead, a matrix streamed from beyond the cache
 * took 1.12x as long (JMH, 32000 x 768, one thread).
 *
 * <p>Why bytes, at 274 bytes per row and super-block against the file's 210 (30% more memory): a
 * single activation row is bound by the kernel's instructions, not by the bytes it streams. Packed
 * as in the file, four columns of a group cost three byte widenings, about ten shifts and joins and
 * four conversions; widened, one widening and one conversion per column, as for Q8_0. Measured on an
 * AVX-512 Xeon, one thread decoding bench-110m: Q8_0's kernel streamed 15 GB/s of weights and the
 * packed Q6_K kernel 6.2 GB/s, so 30% more bytes at Q8_0's pace is the faster trade. Two attempts to
 * keep six bits and cut the instructions (sixteen columns in three ints, taken out with shifts and
 * masks, with or without conversions) were faster per matrix and not in the model; see
 * benchmarks.md.
 *
 * @param data the repacked bytes, {@code groups * cols / 256 * GROUP_BLOCK_BYTES} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q6_KPacked(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 256;
    private static final int SOURCE_BLOCK_BYTES = 210;
    /** Bytes of one scale's run: its {@code G} int8 scales, then its 16 columns of {@code G} quants. */
    static final long RUN = 17L * G;

    static final long D = 0;
    /** Bytes of one (group, super-block). */
    static final long GROUP_BLOCK_BYTES = 274L * G;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Offset in a (group, super-block) of scale {@code j}'s {@code G} int8 scales. */
    static long scales(int j) {
        return 2L * G + j * RUN;
    }

    /** Offset in a (group, super-block) of the first of scale {@code j}'s 16 columns. */
    static long quants(int j) {
        return 2L * G + j * RUN + G;
    }

    /** Repacks a {@code rows x cols} Q6_K matrix laid out as in GGUF into native memory (see {@link NativeMemory}). */
    static Q6_KPacked pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        long rowBytes = (long) blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q6_K weights");
        byte[] out = new byte[(int) GROUP_BLOCK_BYTES];
        byte[] block = new byte[SOURCE_BLOCK_BYTES];
        int[] q = new int[BLOCK];
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
                    unpack(block, q);
                    for (int c = 0; c < BLOCK; c++) {
                        out[(int) (quants(c / 16) + (c % 16) * G) + i] = (byte) (q[c] - 32);
                    }
                    for (int j = 0; j < 16; j++) {
                        out[(int) scales(j) + i] = block[192 + j];
                    }
                    out[(int) D + 2 * i] = block[208];
                    out[(int) D + 2 * i + 1] = block[209];
                }
                MemorySegment.copy(
                        out, 0, dst, ValueLayout.JAVA_BYTE, ((long) g * blocks + b) * GROUP_BLOCK_BYTES, out.length);
            }
        }
        return new Q6_KPacked(dst, rows, cols, groups);
    }

    /** The 256 unsigned 6-bit quants of one GGUF Q6_K block, in column order (see {@link KQuants#decodeQ6_K}). */
    static void unpack(byte[] block, int[] q) {
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                int a = block[64 * h + l] & 0xFF;
                int b = block[64 * h + 32 + l] & 0xFF;
                int hi = block[128 + 32 * h + l] & 0xFF;
                int c = 128 * h + l;
                q[c] = (a & 0xF) | (hi & 3) << 4;
                q[c + 32] = (b & 0xF) | (hi >> 2 & 3) << 4;
                q[c + 64] = (a >>> 4) | (hi >> 4 & 3) << 4;
                q[c + 96] = (b >>> 4) | (hi >> 6 & 3) << 4;
            }
        }
    }

    /** Dequantizes row {@code r} into {@code out[off .. off + cols)}, with the arithmetic of {@link KQuants#decodeQ6_K}. */
    void decodeRow(int r, float[] out, int off) {
        int g = r / G;
        int i = r % G;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(HALF, at + D + 2L * i));
            for (int c = 0; c < BLOCK; c++) {
                byte scale = data.get(ValueLayout.JAVA_BYTE, at + scales(c / 16) + i);
                int q = data.get(ValueLayout.JAVA_BYTE, at + quants(c / 16) + (long) (c % 16) * G + i);
                out[off + b * BLOCK + c] = d * scale * q;
            }
        }
    }
}
