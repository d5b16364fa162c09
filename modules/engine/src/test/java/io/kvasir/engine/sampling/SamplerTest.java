package io.kvasir.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static SamplingParams params(float temperature, int topK, float topP, float minP, long seed) {
        return new SamplingParams(temperature, topK, topP, minP, 1f, 0f, 0f, seed, 0);
    }

    /** Logits whose softmax is exactly {@code probs}. */
    private static float[] logitsOf(double... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            l[i] = (float) Math.log(probs[i]);
        }
        return l;
    }

    /** How often each id is drawn in {@code n} samples of the same logits. */
    private static double[] frequencies(SamplingParams p, float[] logits, int n) {
        Sampler s = new Sampler(p, logits.length, new int[0]);
        double[] f = new double[logits.length];
        for (int i = 0; i < n; i++) {
            f[s.sample(logits.clone()).token()] += 1.0 / n;
        }
        return f;
    }

    @Test
    void greedyTakesTheArgmaxAndBreaksTiesToTheLowestId() {
        Sampler s = new Sampler(SamplingParams.greedy(), 5, new int[0]);
        assertThat(s.sample(new float[] {1, 3, 0, 3, 2}).token()).isEqualTo(1);
        assertThat(s.sample(new float[] {-5, -1, -1, -7, -2}).token()).isEqualTo(1);
    }

    @Test
    void temperatureOneDrawsInProportionToTheProbabilities() {
        double[] f = frequencies(params(1f, 0, 1f, 0f, 1), logitsOf(0.5, 0.3, 0.15, 0.05), 40_000);
        assertThat(f[0]).isCloseTo(0.5, within(0.015));
        assertThat(f[1]).isCloseTo(0.3, within(0.015));
        assertThat(f[2]).isCloseTo(0.15, within(0.015));
        assertThat(f[3]).isCloseTo(0.05, within(0.015));
    }

    @Test
    void lowTemperatureSharpensHighTemperatureFlattens() {
        float[] l = logitsOf(0.6, 0.4);
        assertThat(frequencies(params(0.25f, 0, 1f, 0f, 2), l, 20_000)[0])
                .isCloseTo(Math.pow(0.6, 4) / (Math.pow(0.6, 4) + Math.pow(0.4, 4)), within(0.015));
        assertThat(frequencies(params(4f, 0, 1f, 0f, 2), l, 20_000)[0])
                .isCloseTo(Math.pow(0.6, 0.25) / (Math.pow(0.6, 0.25) + Math.pow(0.4, 0.25)), within(0.015));
    }

    @Test
    void topKKeepsOnlyTheKBestRenormalized() {
        double[] f = frequencies(params(1f, 2, 1f, 0f, 3), logitsOf(0.1, 0.5, 0.05, 0.3, 0.05), 20_000);
        assertThat(f[0] + f[2] + f[4]).isZero();
        assertThat(f[1]).isCloseTo(0.5 / 0.8, within(0.015));
        assertThat(frequencies(params(1f, 1, 1f, 0f, 3), logitsOf(0.1, 0.5, 0.05, 0.3, 0.05), 500)[1])
                .isCloseTo(1.0, within(1e-9));
    }

    @Test
    void topPKeepsTheSmallestSetReachingTheMass() {
        float[] l = logitsOf(0.15, 0.5, 0.05, 0.3);
        double[] f = frequencies(params(1f, 0, 0.75f, 0f, 4), l, 20_000);
        assertThat(f[0] + f[2]).isZero();
        assertThat(f[1]).isCloseTo(0.5 / 0.8, within(0.015));
        double[] g = frequencies(params(1f, 0, 0.81f, 0f, 4), l, 20_000);
        assertThat(g[0]).isCloseTo(0.15 / 0.95, within(0.015));
        assertThat(g[2]).isZero();
    }

    @Test
    void topPOverALargeVocabularyWidensItsWindow() {
        float[] flat = new float[50_000]; // all equal: ties rank by id, so top-p 0.5 keeps ids below 25000
        double[] f = frequencies(params(1f, 0, 0.5f, 0f, 5), flat, 300);
        double kept = 0;
        double beyondFirstWindows = 0;
        for (int i = 0; i < f.length; i++) {
            if (i < 25_000) {
                kept += f[i];
            }
            if (i >= 4_096) {
                beyondFirstWindows += f[i];
            }
        }
        assertThat(kept).isCloseTo(1.0, within(1e-9));
        assertThat(beyondFirstWindows).isGreaterThan(0.5);
    }

    @Test
    void minPDropsTokensBelowAFractionOfTheBest() {
        float[] l = logitsOf(0.5, 0.3, 0.15, 0.05);
        double[] f = frequencies(params(1f, 0, 1f, 0.2f, 6), l, 20_000); // floor 0.1
        assertThat(f[3]).isZero();
        assertThat(f[2]).isCloseTo(0.15 / 0.95, within(0.015));
        double[] g = frequencies(params(1f, 0, 1f, 0.5f, 6), l, 20_000); // floor 0.25
        assertThat(g[2] + g[3]).isZero();
        assertThat(g[0]).isCloseTo(0.5 / 0.8, within(0.015));
        // The sorted path (with top-k) applies the same floor.
        double[] h = frequencies(params(1f, 3, 1f, 0.5f, 6), l, 20_000);
        assertThat(h[2] + h[3]).isZero();
    }

    @Test
    void sameSeedSameTokensOtherSeedOtherTokens() {
        SplittableRandom r = new SplittableRandom(0);
        float[][] steps = new float[50][1000];
        for (float[] s : steps) {
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) r.nextGaussian();
            }
        }
        int[] a = run(new Sampler(params(1f, 40, 0.9f, 0.01f, 77), 1000, new int[0]), steps);
        int[] b = run(new Sampler(params(1f, 40, 0.9f, 0.01f, 77), 1000, new int[0]), steps);
        int[] c = run(new Sampler(params(1f, 40, 0.9f, 0.01f, 78), 1000, new int[0]), steps);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
    }

    private static int[] run(Sampler s, float[][] steps) {
        return Arrays.stream(steps).mapToInt(l -> s.sample(l.clone()).token()).toArray();
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheRawLogitsWhateverTheTemperature() {
        float[] l = {2f, 0.5f, -1f, 1.5f};
        double z = Math.log(Math.exp(2) + Math.exp(0.5) + Math.exp(-1) + Math.exp(1.5));
        SamplingParams p = new SamplingParams(0.3f, 0, 1f, 0f, 1f, 0f, 0f, 9L, 2);
        Sample s = new Sampler(p, 4, new int[0]).sample(l.clone());
        assertThat((double) s.logprob()).isCloseTo(l[s.token()] - z, within(1e-5));
        assertThat(s.topIds()).containsExactly(0, 3);
        assertThat((double) s.topLogprobs()[0]).isCloseTo(2 - z, within(1e-5));
        assertThat((double) s.topLogprobs()[1]).isCloseTo(1.5 - z, within(1e-5));
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
        SamplingParams p = new SamplingParams(0f, 0, 1f, 0f, 2f, 0f, 0f, null, 0);
        // id 0 is in the prompt: 3 -> 1.5, below id 1's 2.
        assertThat(new Sampler(p, 3, new int[] {0})
                        .sample(new float[] {3f, 2f, -1f})
                        .token())
                .isEqualTo(1);
        float[] neg = {-1f, -1.5f, -4f};
        new Sampler(p, 3, new int[] {0}).sample(neg);
        assertThat(neg).containsExactly(-2f, -1.5f, -4f);
        // Generated tokens count too.
        Sampler s = new Sampler(p, 3, new int[] {2});
        assertThat(s.sample(new float[] {3f, 2f, 0f}).token()).isEqualTo(0);
        assertThat(s.sample(new float[] {3f, 2f, 0f}).token()).isEqualTo(1);
    }

    @Test
    void frequencyPenaltyGrowsWithEachOccurrencePresencePenaltyDoesNot() {
        SamplingParams freq = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 1f, null, 0);
        Sampler f = new Sampler(freq, 3, new int[] {0, 0, 0}); // the prompt does not count
        assertThat(run(f, repeat(new float[] {3f, 2.5f, 0f}, 4))).containsExactly(0, 1, 0, 1);
        SamplingParams pres = new SamplingParams(0f, 0, 1f, 0f, 1f, 1f, 0f, null, 0);
        Sampler p = new Sampler(pres, 3, new int[0]);
        assertThat(run(p, repeat(new float[] {3f, 2.5f, 0f}, 4))).containsExactly(0, 1, 0, 0);
    }

    @Test
    void plusHundredBiasForcesATokenGreedyAndSampled() {
        float[] logits = logitsOf(0.7, 0.2, 0.09, 0.01);
        SamplingParams greedy = SamplingParams.greedy().withLogitBias(Map.of(3, 100f));
        assertThat(new Sampler(greedy, 4, new int[0]).sample(logits.clone()).token())
                .isEqualTo(3);
        SamplingParams sampled = params(1.5f, 0, 1f, 0f, 5).withLogitBias(Map.of(3, 100f));
        assertThat(frequencies(sampled, logits, 2_000)[3]).isCloseTo(1.0, within(1e-9));
    }

    @Test
    void minusHundredBiasForbidsATokenEvenWhenItIsTheFavourite() {
        float[] logits = logitsOf(0.97, 0.01, 0.01, 0.01);
        SamplingParams greedy = SamplingParams.greedy().withLogitBias(Map.of(0, -100f));
        assertThat(new Sampler(greedy, 4, new int[0]).sample(logits.clone()).token())
                .isNotEqualTo(0);
        // A high temperature flattens the distribution: without the ban token 0 would still win often.
        SamplingParams hot = params(2f, 0, 1f, 0f, 6).withLogitBias(Map.of(0, -100f));
        assertThat(frequencies(hot, logits, 5_000)[0]).isZero();
        assertThat(frequencies(params(2f, 0, 1f, 0f, 6), logits, 5_000)[0]).isGreaterThan(0.3);
    }

    @Test
    void biasIsAddedAndReportedInTheLogprobs() {
        SamplingParams p = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 2).withLogitBias(Map.of(1, 2f));
        Sample s = new Sampler(p, 3, new int[0]).sample(new float[] {1f, 0f, -5f});

        assertThat(s.token()).isEqualTo(1); // 0 + 2 beats 1
        double logZ = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(-5));
        assertThat((double) s.logprob()).isCloseTo(2 - logZ, within(1e-5));
    }

    @Test
    void banningEveryTokenStillSamplesAndIdsOutsideTheVocabularyAreIgnored() {
        SamplingParams all = SamplingParams.greedy().withLogitBias(Map.of(0, -100f, 1, -100f, 2, -100f));
        assertThat(new Sampler(all, 3, new int[0])
                        .sample(new float[] {1f, 2f, 3f})
                        .token())
                .isBetween(0, 2);

        SamplingParams outside = SamplingParams.greedy().withLogitBias(Map.of(3, 100f, 50_000, 100f));
        assertThat(new Sampler(outside, 3, new int[0])
                        .sample(new float[] {1f, 2f, 3f})
                        .token())
                .isEqualTo(2);
    }

    @Test
    void theOldConstructorMeansNoBias() {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, null, 0);
        assertThat(p.logitBias()).isEmpty();
        assertThat(p).isEqualTo(p.withLogitBias(null));
        assertThatThrownBy(() -> new Sampler(p.withLogitBias(Map.of(1, Float.NaN)), 4, new int[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("logit_bias");
    }

    private static float[][] repeat(float[] l, int n) {
        float[][] out = new float[n][];
        Arrays.fill(out, l);
        return out;
    }

    @Test
    void badParametersAndLogitsAreRefused() {
        assertThatThrownBy(() -> new Sampler(params(-1f, 0, 1f, 0f, 1), 4, new int[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Sampler(params(1f, 0, 0f, 0f, 1), 4, new int[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("top_p");
        assertThatThrownBy(() -> new Sampler(params(1f, -2, 1f, 0f, 1), 4, new int[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("top_k");
        Sampler s = new Sampler(SamplingParams.greedy(), 4, new int[0]);
        assertThatThrownBy(() -> s.sample(new float[3])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.sample(new float[] {0f, Float.NaN, 1f, 0f}))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void topKSelectionMatchesAFullSort() {
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[10_000];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextInt(500); // many ties
        }
        Integer[] ids = new Integer[v.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> v[a] != v[b] ? Float.compare(v[b], v[a]) : Integer.compare(a, b));
        int[] expected =
                Arrays.stream(ids).limit(100).mapToInt(Integer::intValue).toArray();
        assertThat(TopK.select(v, 100)).containsExactly(expected);
        assertThat(TopK.select(v, 0)).isEmpty();
        assertThat(TopK.select(new float[] {1, 2}, 5)).containsExactly(1, 0);
    }
}
