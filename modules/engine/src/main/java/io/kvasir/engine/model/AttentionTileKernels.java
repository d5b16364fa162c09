package io.kvasir.engine.model;

import static io.kvasir.engine.model.AttentionKernels.F;
import static io.kvasir.engine.model.AttentionKernels.H;
import static io.kvasir.engine.model.AttentionKernels.HALF_MASK;
import static io.kvasir.engine.model.AttentionKernels.I;
import static io.kvasir.engine.model.AttentionKernels.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link AttentionKernels}' two loops for {@link #ROWS} queries at once that read the same KV head
 * of the same block (a prompt's rows of one sequence): each key or value vector is loaded, and for
 * F16 widened, once and multiplied into every query's accumulators, instead of once per query.
 * Widening a half takes three vector operations besides the load, so for F16 KV the single-query
 * loops spend more on widening than on the multiply-adds themselves.
 *
 * <p>Each query keeps exactly the accumulators, the order of its multiply-adds and the final
 * additions of the single-query kernel, so its scores and weighted sums are the same bits: only
 * the loads are shared. (Four queries' accumulators, sixteen vectors for F32 keys, fit the 32
 * vector registers of AVX-512; with 16 registers some spill, which costs time but not bits.)
 */
final class AttentionTileKernels {

    /** Queries per call. */
    static final int ROWS = 4;

    private AttentionTileKernels() {}

    /**
     * {@link AttentionKernels#keyDotsF32} for four queries at {@code q[qOff[0..3]]}, their scores
     * into {@code s0..s3}.
     */
    static void keyDotsF32(
            float[] k,
            int kb,
            int bs,
            int slots,
            float[] q,
            int q0,
            int q1,
            int q2,
            int q3,
            int n,
            float scale,
            float[] s0,
            float[] s1,
            float[] s2,
            float[] s3) {
        for (int v = 0; v < slots; v += L) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a02 = FloatVector.zero(F);
            FloatVector a03 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a12 = FloatVector.zero(F);
            FloatVector a13 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a22 = FloatVector.zero(F);
            FloatVector a23 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            FloatVector a32 = FloatVector.zero(F);
            FloatVector a33 = FloatVector.zero(F);
            int d = 0;
            int row = kb + v;
            for (; d + 4 <= n; d += 4, row += 4 * bs) {
                FloatVector k0 = FloatVector.fromArray(F, k, row);
                FloatVector k1 = FloatVector.fromArray(F, k, row + bs);
                FloatVector k2 = FloatVector.fromArray(F, k, row + 2 * bs);
                FloatVector k3 = FloatVector.fromArray(F, k, row + 3 * bs);
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a01 = k1.fma(FloatVector.broadcast(F, q[q0 + d + 1]), a01);
                a02 = k2.fma(FloatVector.broadcast(F, q[q0 + d + 2]), a02);
                a03 = k3.fma(FloatVector.broadcast(F, q[q0 + d + 3]), a03);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a11 = k1.fma(FloatVector.broadcast(F, q[q1 + d + 1]), a11);
                a12 = k2.fma(FloatVector.broadcast(F, q[q1 + d + 2]), a12);
                a13 = k3.fma(FloatVector.broadcast(F, q[q1 + d + 3]), a13);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a21 = k1.fma(FloatVector.broadcast(F, q[q2 + d + 1]), a21);
                a22 = k2.fma(FloatVector.broadcast(F, q[q2 + d + 2]), a22);
                a23 = k3.fma(FloatVector.broadcast(F, q[q2 + d + 3]), a23);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
                a31 = k1.fma(FloatVector.broadcast(F, q[q3 + d + 1]), a31);
                a32 = k2.fma(FloatVector.broadcast(F, q[q3 + d + 2]), a32);
                a33 = k3.fma(FloatVector.broadcast(F, q[q3 + d + 3]), a33);
            }
            for (; d < n; d++, row += bs) {
                FloatVector k0 = FloatVector.fromArray(F, k, row);
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
            }
            a00.add(a01).add(a02.add(a03)).mul(scale).intoArray(s0, v);
            a10.add(a11).add(a12.add(a13)).mul(scale).intoArray(s1, v);
            a20.add(a21).add(a22.add(a23)).mul(scale).intoArray(s2, v);
            a30.add(a31).add(a32.add(a33)).mul(scale).intoArray(s3, v);
        }
    }

    /**
     * {@link AttentionKernels#keyDotsF16} for four queries, every one of them prepared by {@link
     * AttentionKernels#halfQuery} with the 2^112 on it (a query without takes the single-query
     * kernel, which handles it as it would alone).
     */
    static void keyDotsF16(
            short[] k,
            int kb,
            int bs,
            int slots,
            float[] q,
            int q0,
            int q1,
            int q2,
            int q3,
            int n,
            float scale,
            float[] s0,
            float[] s1,
            float[] s2,
            float[] s3) {
        for (int v = 0; v < slots; v += L) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            int d = 0;
            int row = kb + v;
            for (; d + 2 <= n; d += 2, row += 2 * bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                FloatVector k1 = ((IntVector)
                                ShortVector.fromArray(H, k, row + bs).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a01 = k1.fma(FloatVector.broadcast(F, q[q0 + d + 1]), a01);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a11 = k1.fma(FloatVector.broadcast(F, q[q1 + d + 1]), a11);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a21 = k1.fma(FloatVector.broadcast(F, q[q2 + d + 1]), a21);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
                a31 = k1.fma(FloatVector.broadcast(F, q[q3 + d + 1]), a31);
            }
            for (; d < n; d++, row += bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
            }
            a00.add(a01).mul(scale).intoArray(s0, v);
            a10.add(a11).mul(scale).intoArray(s1, v);
            a20.add(a21).mul(scale).intoArray(s2, v);
            a30.add(a31).mul(scale).intoArray(s3, v);
        }
    }

    /**
     * {@link #keyDotsF16} on keys that {@link KvStore#widenKeys} has widened to floats once for a
     * whole tile of rows: the same multiply-adds in the same order (two accumulators, the 2^112 on
     * the prepared queries), without the three widening operations per key vector and four rows.
     */
    static void keyDotsWidened(
            float[] k,
            int bs,
            int slots,
            float[] q,
            int q0,
            int q1,
            int q2,
            int q3,
            int n,
            float scale,
            float[] s0,
            float[] s1,
            float[] s2,
            float[] s3) {
        for (int v = 0; v < slots; v += L) {
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            int d = 0;
            int row = v;
            for (; d + 2 <= n; d += 2, row += 2 * bs) {
                FloatVector k0 = FloatVector.fromArray(F, k, row);
                FloatVector k1 = FloatVector.fromArray(F, k, row + bs);
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a01 = k1.fma(FloatVector.broadcast(F, q[q0 + d + 1]), a01);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a11 = k1.fma(FloatVector.broadcast(F, q[q1 + d + 1]), a11);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a21 = k1.fma(FloatVector.broadcast(F, q[q2 + d + 1]), a21);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
                a31 = k1.fma(FloatVector.broadcast(F, q[q3 + d + 1]), a31);
            }
            for (; d < n; d++, row += bs) {
                FloatVector k0 = FloatVector.fromArray(F, k, row);
                a00 = k0.fma(FloatVector.broadcast(F, q[q0 + d]), a00);
                a10 = k0.fma(FloatVector.broadcast(F, q[q1 + d]), a10);
                a20 = k0.fma(FloatVector.broadcast(F, q[q2 + d]), a20);
                a30 = k0.fma(FloatVector.broadcast(F, q[q3 + d]), a30);
            }
            a00.add(a01).mul(scale).intoArray(s0, v);
            a10.add(a11).mul(scale).intoArray(s1, v);
            a20.add(a21).mul(scale).intoArray(s2, v);
            a30.add(a31).mul(scale).intoArray(s3, v);
        }
    }

    /**
     * {@link AttentionKernels#addValuesF32} for four queries' weights {@code w0..w3}, each
     * query's sums at {@code acc[a0..a3]}.
     */
    static void addValuesF32(
            float[] v,
            int vb,
            int stride,
            int slots,
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] acc,
            int o0,
            int o1,
            int o2,
            int o3,
            int n) {
        int i = 0;
        if (AttentionKernels.ENABLED) {
            for (; i + 4 * L <= n; i += 4 * L) {
                FloatVector a00 = FloatVector.fromArray(F, acc, o0 + i);
                FloatVector a01 = FloatVector.fromArray(F, acc, o0 + i + L);
                FloatVector a02 = FloatVector.fromArray(F, acc, o0 + i + 2 * L);
                FloatVector a03 = FloatVector.fromArray(F, acc, o0 + i + 3 * L);
                FloatVector a10 = FloatVector.fromArray(F, acc, o1 + i);
                FloatVector a11 = FloatVector.fromArray(F, acc, o1 + i + L);
                FloatVector a12 = FloatVector.fromArray(F, acc, o1 + i + 2 * L);
                FloatVector a13 = FloatVector.fromArray(F, acc, o1 + i + 3 * L);
                FloatVector a20 = FloatVector.fromArray(F, acc, o2 + i);
                FloatVector a21 = FloatVector.fromArray(F, acc, o2 + i + L);
                FloatVector a22 = FloatVector.fromArray(F, acc, o2 + i + 2 * L);
                FloatVector a23 = FloatVector.fromArray(F, acc, o2 + i + 3 * L);
                FloatVector a30 = FloatVector.fromArray(F, acc, o3 + i);
                FloatVector a31 = FloatVector.fromArray(F, acc, o3 + i + L);
                FloatVector a32 = FloatVector.fromArray(F, acc, o3 + i + 2 * L);
                FloatVector a33 = FloatVector.fromArray(F, acc, o3 + i + 3 * L);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector v0 = FloatVector.fromArray(F, v, row);
                    FloatVector v1 = FloatVector.fromArray(F, v, row + L);
                    FloatVector v2 = FloatVector.fromArray(F, v, row + 2 * L);
                    FloatVector v3 = FloatVector.fromArray(F, v, row + 3 * L);
                    FloatVector w0s = FloatVector.broadcast(F, w0[s]);
                    a00 = v0.fma(w0s, a00);
                    a01 = v1.fma(w0s, a01);
                    a02 = v2.fma(w0s, a02);
                    a03 = v3.fma(w0s, a03);
                    FloatVector w1s = FloatVector.broadcast(F, w1[s]);
                    a10 = v0.fma(w1s, a10);
                    a11 = v1.fma(w1s, a11);
                    a12 = v2.fma(w1s, a12);
                    a13 = v3.fma(w1s, a13);
                    FloatVector w2s = FloatVector.broadcast(F, w2[s]);
                    a20 = v0.fma(w2s, a20);
                    a21 = v1.fma(w2s, a21);
                    a22 = v2.fma(w2s, a22);
                    a23 = v3.fma(w2s, a23);
                    FloatVector w3s = FloatVector.broadcast(F, w3[s]);
                    a30 = v0.fma(w3s, a30);
                    a31 = v1.fma(w3s, a31);
                    a32 = v2.fma(w3s, a32);
                    a33 = v3.fma(w3s, a33);
                }
                a00.intoArray(acc, o0 + i);
                a01.intoArray(acc, o0 + i + L);
                a02.intoArray(acc, o0 + i + 2 * L);
                a03.intoArray(acc, o0 + i + 3 * L);
                a10.intoArray(acc, o1 + i);
                a11.intoArray(acc, o1 + i + L);
                a12.intoArray(acc, o1 + i + 2 * L);
                a13.intoArray(acc, o1 + i + 3 * L);
                a20.intoArray(acc, o2 + i);
                a21.intoArray(acc, o2 + i + L);
                a22.intoArray(acc, o2 + i + 2 * L);
                a23.intoArray(acc, o2 + i + 3 * L);
                a30.intoArray(acc, o3 + i);
                a31.intoArray(acc, o3 + i + L);
                a32.intoArray(acc, o3 + i + 2 * L);
                a33.intoArray(acc, o3 + i + 3 * L);
            }
            for (; i + L <= n; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, o0 + i);
                FloatVector a1 = FloatVector.fromArray(F, acc, o1 + i);
                FloatVector a2 = FloatVector.fromArray(F, acc, o2 + i);
                FloatVector a3 = FloatVector.fromArray(F, acc, o3 + i);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector v0 = FloatVector.fromArray(F, v, row);
                    a0 = v0.fma(FloatVector.broadcast(F, w0[s]), a0);
                    a1 = v0.fma(FloatVector.broadcast(F, w1[s]), a1);
                    a2 = v0.fma(FloatVector.broadcast(F, w2[s]), a2);
                    a3 = v0.fma(FloatVector.broadcast(F, w3[s]), a3);
                }
                a0.intoArray(acc, o0 + i);
                a1.intoArray(acc, o1 + i);
                a2.intoArray(acc, o2 + i);
                a3.intoArray(acc, o3 + i);
            }
        }
        if (i < n) {
            // The few dimensions past whole vectors: the single-query kernel's scalar loop.
            AttentionKernels.addValuesTailF32(v, vb, stride, slots, w0, acc, o0, i, n);
            AttentionKernels.addValuesTailF32(v, vb, stride, slots, w1, acc, o1, i, n);
            AttentionKernels.addValuesTailF32(v, vb, stride, slots, w2, acc, o2, i, n);
            AttentionKernels.addValuesTailF32(v, vb, stride, slots, w3, acc, o3, i, n);
        }
    }

    /**
     * {@link AttentionKernels#addValuesF16} for four queries' weights {@code w0..w3} (scaled by
     * {@link AttentionKernels#halfWeights}), each query's sums at {@code acc[a0..a3]}.
     */
    static void addValuesF16(
            short[] v,
            int vb,
            int stride,
            int slots,
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] acc,
            int o0,
            int o1,
            int o2,
            int o3,
            int n) {
        int i = 0;
        if (AttentionKernels.ENABLED) {
            for (; i + 4 * L <= n; i += 4 * L) {
                FloatVector a00 = FloatVector.fromArray(F, acc, o0 + i);
                FloatVector a01 = FloatVector.fromArray(F, acc, o0 + i + L);
                FloatVector a02 = FloatVector.fromArray(F, acc, o0 + i + 2 * L);
                FloatVector a03 = FloatVector.fromArray(F, acc, o0 + i + 3 * L);
                FloatVector a10 = FloatVector.fromArray(F, acc, o1 + i);
                FloatVector a11 = FloatVector.fromArray(F, acc, o1 + i + L);
                FloatVector a12 = FloatVector.fromArray(F, acc, o1 + i + 2 * L);
                FloatVector a13 = FloatVector.fromArray(F, acc, o1 + i + 3 * L);
                FloatVector a20 = FloatVector.fromArray(F, acc, o2 + i);
                FloatVector a21 = FloatVector.fromArray(F, acc, o2 + i + L);
                FloatVector a22 = FloatVector.fromArray(F, acc, o2 + i + 2 * L);
                FloatVector a23 = FloatVector.fromArray(F, acc, o2 + i + 3 * L);
                FloatVector a30 = FloatVector.fromArray(F, acc, o3 + i);
                FloatVector a31 = FloatVector.fromArray(F, acc, o3 + i + L);
                FloatVector a32 = FloatVector.fromArray(F, acc, o3 + i + 2 * L);
                FloatVector a33 = FloatVector.fromArray(F, acc, o3 + i + 3 * L);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector v0 = ((IntVector)
                                    ShortVector.fromArray(H, v, row).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats();
                    FloatVector v1 = ((IntVector)
                                    ShortVector.fromArray(H, v, row + L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats();
                    FloatVector v2 = ((IntVector)
                                    ShortVector.fromArray(H, v, row + 2 * L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats();
                    FloatVector v3 = ((IntVector)
                                    ShortVector.fromArray(H, v, row + 3 * L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats();
                    FloatVector w0s = FloatVector.broadcast(F, w0[s]);
                    a00 = v0.fma(w0s, a00);
                    a01 = v1.fma(w0s, a01);
                    a02 = v2.fma(w0s, a02);
                    a03 = v3.fma(w0s, a03);
                    FloatVector w1s = FloatVector.broadcast(F, w1[s]);
                    a10 = v0.fma(w1s, a10);
                    a11 = v1.fma(w1s, a11);
                    a12 = v2.fma(w1s, a12);
                    a13 = v3.fma(w1s, a13);
                    FloatVector w2s = FloatVector.broadcast(F, w2[s]);
                    a20 = v0.fma(w2s, a20);
                    a21 = v1.fma(w2s, a21);
                    a22 = v2.fma(w2s, a22);
                    a23 = v3.fma(w2s, a23);
                    FloatVector w3s = FloatVector.broadcast(F, w3[s]);
                    a30 = v0.fma(w3s, a30);
                    a31 = v1.fma(w3s, a31);
                    a32 = v2.fma(w3s, a32);
                    a33 = v3.fma(w3s, a33);
                }
                a00.intoArray(acc, o0 + i);
                a01.intoArray(acc, o0 + i + L);
                a02.intoArray(acc, o0 + i + 2 * L);
                a03.intoArray(acc, o0 + i + 3 * L);
                a10.intoArray(acc, o1 + i);
                a11.intoArray(acc, o1 + i + L);
                a12.intoArray(acc, o1 + i + 2 * L);
                a13.intoArray(acc, o1 + i + 3 * L);
                a20.intoArray(acc, o2 + i);
                a21.intoArray(acc, o2 + i + L);
                a22.intoArray(acc, o2 + i + 2 * L);
                a23.intoArray(acc, o2 + i + 3 * L);
                a30.intoArray(acc, o3 + i);
                a31.intoArray(acc, o3 + i + L);
                a32.intoArray(acc, o3 + i + 2 * L);
                a33.intoArray(acc, o3 + i + 3 * L);
            }
            for (; i + L <= n; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, o0 + i);
                FloatVector a1 = FloatVector.fromArray(F, acc, o1 + i);
                FloatVector a2 = FloatVector.fromArray(F, acc, o2 + i);
                FloatVector a3 = FloatVector.fromArray(F, acc, o3 + i);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector v0 = ((IntVector)
                                    ShortVector.fromArray(H, v, row).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats();
                    a0 = v0.fma(FloatVector.broadcast(F, w0[s]), a0);
                    a1 = v0.fma(FloatVector.broadcast(F, w1[s]), a1);
                    a2 = v0.fma(FloatVector.broadcast(F, w2[s]), a2);
                    a3 = v0.fma(FloatVector.broadcast(F, w3[s]), a3);
                }
                a0.intoArray(acc, o0 + i);
                a1.intoArray(acc, o1 + i);
                a2.intoArray(acc, o2 + i);
                a3.intoArray(acc, o3 + i);
            }
        }
        if (i < n) {
            // The few dimensions past whole vectors: the single-query kernel's scalar loop.
            AttentionKernels.addValuesTailF16(v, vb, stride, slots, w0, acc, o0, i, n);
            AttentionKernels.addValuesTailF16(v, vb, stride, slots, w1, acc, o1, i, n);
            AttentionKernels.addValuesTailF16(v, vb, stride, slots, w2, acc, o2, i, n);
            AttentionKernels.addValuesTailF16(v, vb, stride, slots, w3, acc, o3, i, n);
        }
    }
}
