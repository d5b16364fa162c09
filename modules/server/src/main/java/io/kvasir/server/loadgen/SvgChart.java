package io.kvasir.server.loadgen;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Small hand-drawn SVG charts for the HTML report: a line chart over categories and a histogram.
 * Both have a zero-based y axis with "nice" tick steps (1, 2 or 5 times a power of ten), labelled
 * axes and a legend. Every piece of text goes through {@link #escape}.
 */
public final class SvgChart {

    /** Colour-blind-safe palette (Okabe and Ito). */
    public static final String[] PALETTE = {
        "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"
    };

    /** One line: a y value per x category; NaN leaves a point out. */
    public record Series(String name, String color, double[] y) {}

    static final int WIDTH = 560;
    static final int HEIGHT = 320;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 58;
    private static final int BOTTOM = 52;

    private SvgChart() {}

    public static String lineChart(
            String title, String xLabel, String yLabel, List<String> categories, List<Series> series) {
        double max = 0;
        for (Series s : series) {
            for (double v : s.y()) {
                if (!Double.isNaN(v)) {
                    max = Math.max(max, v);
                }
            }
        }
        double[] ticks = ticks(max);
        double top = ticks[ticks.length - 1];
        StringBuilder sb = open(title, xLabel, yLabel, ticks);
        int n = categories.size();
        for (int i = 0; i < n; i++) {
            double x = xAt(i, n);
            sb.append(text(x, HEIGHT - BOTTOM + 16, "middle", 11, categories.get(i)));
        }
        for (Series s : series) {
            StringBuilder path = new StringBuilder();
            StringBuilder dots = new StringBuilder();
            boolean pen = false;
            for (int i = 0; i < Math.min(n, s.y().length); i++) {
                double v = s.y()[i];
                if (Double.isNaN(v)) {
                    pen = false;
                    continue;
                }
                String pt = fmt(xAt(i, n)) + "," + fmt(yAt(v, top));
                path.append(pen ? " L" : " M").append(pt);
                pen = true;
                dots.append(String.format(
                        Locale.ROOT,
                        "<circle cx=\"%s\" cy=\"%s\" r=\"3.5\" fill=\"%s\"><title>%s: %s</title></circle>",
                        fmt(xAt(i, n)),
                        fmt(yAt(v, top)),
                        s.color(),
                        escape(s.name() + " @ " + categories.get(i)),
                        escape(label(v))));
            }
            if (!path.isEmpty()) {
                sb.append("<path d=\"")
                        .append(path.toString().strip())
                        .append("\" fill=\"none\" stroke=\"")
                        .append(s.color())
                        .append("\" stroke-width=\"2\"/>");
            }
            sb.append(dots);
        }
        legend(
                sb,
                series.stream().map(Series::name).toList(),
                series.stream().map(Series::color).toList());
        return sb.append("</svg>").toString();
    }

    /**
     * A histogram of {@code values} in equal bins whose width is a nice step (1, 2 or 5 times a
     * power of ten), so the x axis labels bin edges at round numbers.
     */
    public static String histogram(String title, String xLabel, double[] values, String color) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        if (values.length == 0) {
            min = 0;
            max = 1;
        }
        int target = Math.max(1, Math.min(20, (int) Math.ceil(Math.sqrt(values.length))));
        double width = niceStep(Math.max(max - min, 1e-3) / target);
        double lo = Math.floor(min / width) * width;
        int bins = Math.max(1, (int) Math.floor((max - lo) / width) + 1);
        double hi = lo + bins * width;
        int[] counts = new int[bins];
        for (double v : values) {
            counts[Math.max(0, Math.min(bins - 1, (int) Math.floor((v - lo) / width)))]++;
        }
        int maxCount = 0;
        for (int c : counts) {
            maxCount = Math.max(maxCount, c);
        }
        double[] ticks = ticks(maxCount);
        double top = ticks[ticks.length - 1];
        StringBuilder sb = open(title, xLabel, "requests", ticks);
        double plotW = WIDTH - LEFT - RIGHT;
        double barW = plotW / bins;
        for (int b = 0; b < bins; b++) {
            double y = yAt(counts[b], top);
            sb.append(String.format(
                    Locale.ROOT,
                    "<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"%s\"><title>%s</title></rect>",
                    fmt(LEFT + b * barW + 1),
                    fmt(y),
                    fmt(Math.max(1, barW - 2)),
                    fmt(HEIGHT - BOTTOM - y),
                    color,
                    escape(label(lo + b * width) + "–" + label(lo + (b + 1) * width) + ": " + counts[b])));
        }
        int every = Math.max(1, (int) Math.ceil(bins / 6.0));
        for (int b = 0; b <= bins; b += every) {
            sb.append(text(LEFT + b * barW, HEIGHT - BOTTOM + 16, "middle", 11, label(lo + b * width)));
        }
        if (bins % every != 0) {
            sb.append(text(LEFT + bins * barW, HEIGHT - BOTTOM + 16, "middle", 11, label(hi)));
        }
        return sb.append("</svg>").toString();
    }

    /** Ticks from zero to the first nice multiple at or above {@code max}, about five of them. */
    static double[] ticks(double max) {
        if (!(max > 0) || Double.isInfinite(max)) {
            return new double[] {0, 1};
        }
        double step = niceStep(max / 5);
        int count = (int) Math.ceil(max / step - 1e-9);
        List<Double> out = new ArrayList<>();
        for (int i = 0; i <= count; i++) {
            out.add(i * step);
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The smallest of 1, 2, 5 or 10 times a power of ten that is at least {@code raw}. */
    static double niceStep(double raw) {
        double pow = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / pow;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
    }

    public static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c < 0x20 && c != '\n' && c != '\t' ? ' ' : c);
            }
        }
        return sb.toString();
    }

    /** Axis tick labels: no decimals for large values, up to three for small ones. */
    static String label(double v) {
        if (Math.abs(v) >= 100 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (Math.abs(v) >= 1) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v).replaceAll("0+$", "");
    }

    private static StringBuilder open(String title, String xLabel, String yLabel, double[] ticks) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                        + "width=\"%d\" height=\"%d\" role=\"img\" font-family=\"sans-serif\">",
                WIDTH,
                HEIGHT,
                WIDTH,
                HEIGHT));
        sb.append("<title>").append(escape(title)).append("</title>");
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
        sb.append(text(WIDTH / 2.0, 20, "middle", 14, title).replace("<text ", "<text font-weight=\"bold\" "));
        double top = ticks[ticks.length - 1];
        for (double t : ticks) {
            double y = yAt(t, top);
            sb.append(String.format(
                    Locale.ROOT,
                    "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\" stroke=\"#e0e0e0\"/>",
                    LEFT,
                    fmt(y),
                    WIDTH - RIGHT,
                    fmt(y)));
            sb.append(text(LEFT - 6, y + 4, "end", 11, label(t)));
        }
        sb.append(String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
                LEFT,
                TOP,
                LEFT,
                HEIGHT - BOTTOM));
        sb.append(String.format(
                Locale.ROOT,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
                LEFT,
                HEIGHT - BOTTOM,
                WIDTH - RIGHT,
                HEIGHT - BOTTOM));
        sb.append(text((LEFT + WIDTH - RIGHT) / 2.0, HEIGHT - 12, "middle", 12, xLabel));
        sb.append(String.format(
                Locale.ROOT,
                "<text x=\"16\" y=\"%s\" text-anchor=\"middle\" font-size=\"12\" "
                        + "transform=\"rotate(-90 16 %s)\">%s</text>",
                fmt((TOP + HEIGHT - BOTTOM) / 2.0),
                fmt((TOP + HEIGHT - BOTTOM) / 2.0),
                escape(yLabel)));
        return sb;
    }

    /** One row between the title and the plot, so it never hides a line. */
    private static void legend(StringBuilder sb, List<String> names, List<String> colors) {
        double x = LEFT;
        double y = 30;
        for (int i = 0; i < names.size(); i++) {
            double w = 22 + names.get(i).length() * 6.5;
            if (x + w > WIDTH - RIGHT && x > LEFT) {
                break; // more series than fit: the point tooltips still name them
            }
            sb.append(String.format(
                    Locale.ROOT,
                    "<rect x=\"%s\" y=\"%s\" width=\"12\" height=\"12\" fill=\"%s\"/>",
                    fmt(x),
                    fmt(y),
                    colors.get(i)));
            sb.append(text(x + 16, y + 10, "start", 11, names.get(i)));
            x += w + 10;
        }
    }

    private static double xAt(int i, int n) {
        double plotW = WIDTH - LEFT - RIGHT;
        return n <= 1 ? LEFT + plotW / 2 : LEFT + 20 + i * (plotW - 40) / (n - 1);
    }

    private static double yAt(double v, double top) {
        double plotH = HEIGHT - TOP - BOTTOM;
        return HEIGHT - BOTTOM - plotH * (v / top);
    }

    private static String text(double x, double y, String anchor, int size, String s) {
        return String.format(
                Locale.ROOT,
                "<text x=\"%s\" y=\"%s\" text-anchor=\"%s\" font-size=\"%d\">%s</text>",
                fmt(x),
                fmt(y),
                anchor,
                size,
                escape(s));
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
