package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TokenDistributionTest {

    @Test
    void parsesFixedCount() {
        TokenDistribution d = TokenDistribution.parse(" 128 ");
        assertThat(d).isEqualTo(new TokenDistribution.Fixed(128));
        assertThat(d.sample(new SplittableRandom(1))).isEqualTo(128);
        assertThat(d.describe()).isEqualTo("128");
    }

    @Test
    void uniformSamplesStayWithinInclusiveBoundsAndReachBoth() {
        TokenDistribution d = TokenDistribution.parse("uniform:3-6");
        assertThat(d).isEqualTo(new TokenDistribution.Uniform(3, 6));
        SplittableRandom r = new SplittableRandom(7);
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < 2000; i++) {
            int v = d.sample(r);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isEqualTo(3);
        assertThat(max).isEqualTo(6);
        assertThat(d.describe()).isEqualTo("uniform:3-6");
    }

    @Test
    void normalHasRoughlyTheRequestedMeanAndNeverGoesBelowOne() {
        TokenDistribution d = TokenDistribution.parse("normal:128,32");
        assertThat(d).isEqualTo(new TokenDistribution.Normal(128, 32));
        SplittableRandom r = new SplittableRandom(3);
        double sum = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            sum += d.sample(r);
        }
        assertThat(sum / n).isBetween(125.0, 131.0);
        TokenDistribution wide = TokenDistribution.parse("normal:2,50");
        for (int i = 0; i < 1000; i++) {
            assertThat(wide.sample(r)).isGreaterThanOrEqualTo(1);
        }
        assertThat(d.describe()).isEqualTo("normal:128,32");
    }

    @Test
    void badSpellingsNameTheInput() {
        for (String bad : new String[] {
            "",
            "abc",
            "0",
            "-5",
            "uniform:10",
            "uniform:10-5",
            "uniform:a-b",
            "normal:128",
            "normal:0,3",
            "normal:100,-1",
            "poisson:3"
        }) {
            assertThatThrownBy(() -> TokenDistribution.parse(bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(bad.isEmpty() ? "empty" : bad);
        }
    }
}
