package io.kvasir.engine.tensor;

/**
 * How a parallel loop of {@code n} items is cut into the chunks that threads claim: large chunks
 * first, halving level by level, so that the threads finish together.
 *
 * <p>Why not equal chunks: a decode step is dozens of short loops, each ending in a barrier where
 * the thread that finished first waits for the other, on average half a chunk. With the loop in
 * eight equal chunks on two threads that wait was about a sixteenth of every loop, and it is the
 * part that made two threads decode F16 1.6 times as fast as one where llama.cpp's static halves
 * reach 1.8. Smaller equal chunks shorten the wait but cut each thread's memory streams short
 * (sixteen chunks took F16 decode from 68 to 46 tok/s). Halving keeps most of the loop in long
 * chunks and makes the last ones, whose ends the threads wait on, small.
 *
 * <p>Level {@code l} of {@code levels} holds {@code threads} equal chunks covering {@code 2^-(l+1)}
 * of the loop; the last level takes what is left, the same share as the one before it. Four
 * levels on two threads: chunks of 1/4, 1/4, 1/8, 1/8, 1/16, 1/16, 1/16, 1/16. A chunk may be
 * empty when {@code n} is small; callers skip empty ranges.
 */
final class Chunks {

    private Chunks() {}

    /**
     * The first item of chunk {@code c} (0 to {@code chunks}, where {@code chunks} gives {@code n}).
     * {@code chunks} a multiple of {@code threads}; otherwise the chunks are equal.
     */
    static int start(int n, int c, int chunks, int threads) {
        if (c >= chunks) {
            return n;
        }
        int levels = chunks / threads;
        if (levels < 2 || levels > 20 || chunks % threads != 0) {
            return (int) ((long) n * c / chunks);
        }
        int level = c / threads;
        int i = c % threads;
        // In units of 1 / (threads * 2^levels) of the loop.
        long whole = (long) threads << levels;
        long levelStart = (long) threads * ((1L << levels) - (1L << (levels - level)));
        long perChunk = level < levels - 1 ? 1L << (levels - level - 1) : 1L << (levels - level);
        return (int) (n * (levelStart + i * perChunk) / whole);
    }
}
