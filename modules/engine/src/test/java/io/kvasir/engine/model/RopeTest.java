package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RopeTest {

    @Test
    void linearScalingStretchesPositions() {
        Rope plain = new Rope(RopeStyle.ADJACENT, 8, 8, 10000, 1.0, null);
        Rope scaled = new Rope(RopeStyle.ADJACENT, 8, 8, 10000, 0.5, null);
        assertThat(rotated(scaled, 14)).containsExactly(rotated(plain, 7), within(1e-6f));
    }

    @Test
    void frequencyFactorsSlowTheirPairsDown() {
        Rope plain = new Rope(RopeStyle.NEOX, 8, 8, 10000, 1.0, null);
        Rope slowed = new Rope(RopeStyle.NEOX, 8, 8, 10000, 1.0, new float[] {2, 2, 2, 2});
        assertThat(rotated(slowed, 10)).containsExactly(rotated(plain, 5), within(1e-6f));
    }

    @Test
    void adjacentAndNeoxPairDifferentDimensions() {
        Rope adjacent = new Rope(RopeStyle.ADJACENT, 4, 4, 10000, 1.0, null);
        Rope neox = new Rope(RopeStyle.NEOX, 4, 4, 10000, 1.0, null);
        // One head of 4 with only dimension 0 set: the first pair rotates at frequency 1.
        float[] a = rotate(adjacent, new float[] {1, 0, 0, 0}, 1);
        float[] n = rotate(neox, new float[] {1, 0, 0, 0}, 1);
        assertThat(a[1]).isCloseTo((float) Math.sin(1), within(1e-6f));
        assertThat(a[2]).isZero();
        assertThat(n[2]).isCloseTo((float) Math.sin(1), within(1e-6f));
        assertThat(n[1]).isZero();
    }

    private static float[] rotated(Rope rope, int pos) {
        return rotate(rope, new float[] {1, 2, 3, 4, 5, 6, 7, 8}, pos);
    }

    private static float[] rotate(Rope rope, float[] x, int pos) {
        float[] cos = new float[rope.pairs()];
        float[] sin = new float[rope.pairs()];
        rope.tables(new int[] {pos}, 1, cos, sin);
        rope.rotate(x, 0, 1, cos, sin, 0);
        return x;
    }
}
