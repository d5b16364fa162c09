package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SvgChartTest {

    @Test
    void ticksUseNiceStepsFromZeroPastTheMaximum() {
        assertThat(SvgChart.ticks(87)).containsExactly(0, 20, 40, 60, 80, 100);
        assertThat(SvgChart.ticks(5)).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(SvgChart.ticks(0.42)).hasSize(6).startsWith(0).endsWith(0.5);
        assertThat(SvgChart.ticks(0)).containsExactly(0, 1);
        assertThat(SvgChart.ticks(Double.NaN)).containsExactly(0, 1);
    }

    @Test
    void escapesMarkupAndQuotes() {
        assertThat(SvgChart.escape("<a href=\"x\">&'</a>"))
                .isEqualTo("&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    @Test
    void lineChartHasAxesLegendAndOnePathPerSeries() {
        String svg = SvgChart.lineChart(
                "T<1>",
                "concurrency",
                "ms",
                List.of("1", "8", "32"),
                List.of(
                        new SvgChart.Series("p50", "#000", new double[] {1, 2, 3}),
                        new SvgChart.Series("p99", "#111", new double[] {2, Double.NaN, 9})));
        assertThat(svg)
                .startsWith("<svg ")
                .endsWith("</svg>")
                .contains("T&lt;1&gt;")
                .doesNotContain("T<1>");
        assertThat(svg).contains(">concurrency<", ">ms<", ">p50<", ">p99<", ">32<", ">10<");
        assertThat(svg.split("<path ", -1)).hasSize(3);
        assertThat(svg.split("<circle ", -1)).hasSize(6); // the NaN point is left out
    }

    @Test
    void histogramCountsEveryValueIntoABar() {
        String svg = SvgChart.histogram("h", "TTFT (ms)", new double[] {1, 2, 3, 4, 100}, "#123456");
        assertThat(svg.split("<rect [^>]*fill=\"#123456\"", -1)).hasSize(4); // ceil(sqrt(5)) = 3 bins
        assertThat(svg).contains(": 4</title>", ": 1</title>", ": 0</title>");
        assertThat(SvgChart.histogram("empty", "ms", new double[0], "#000")).contains("</svg>");
    }
}
