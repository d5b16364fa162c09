package io.kvasir.engine.sampling;

/**
 * Scratch arrays for top-p over a whole vocabulary, sized on first use. One engine thread samples
 * all its requests one after another, so the engine shares one workspace among their samplers
 * instead of each request keeping vocabulary-sized arrays. Not thread-safe.
 */
public final class Workspace {

    int[] ids = new int[0];
    float[] weights = new float[0];

    void ensure(int n) {
        if (ids.length < n) {
            ids = new int[n];
            weights = new float[n];
        }
    }
}
