package io.kvasir.fabric.health;

/**
 * One health check's latest figure, as the admin view shows it and the load report carries it.
 *
 * @param check     the check's name: {@code heap}, {@code memory-budget}, {@code engine-stuck},
 *                  {@code step-time}, {@code kv-cache}, {@code gpu<i>-temperature}, ...
 * @param failing   whether it counts as failing now (after hysteresis: failing for long enough, and
 *                  not yet passing for long enough)
 * @param severity  what a failure means for routing ({@link Severity#HEALTHY} for figures that are
 *                  only shown, such as GPU utilization)
 * @param figure    the measured value, in {@code unit}
 * @param threshold the value at which it fails (NaN: no threshold, a figure only)
 * @param unit      of figure and threshold
 * @param detail    one line saying what was measured against what
 */
public record CheckResult(
        String check, boolean failing, Severity severity, double figure, double threshold, String unit, String detail) {

    /** A figure shown beside the checks, never failing. */
    public static CheckResult figure(String check, double figure, String unit, String detail) {
        return new CheckResult(check, false, Severity.HEALTHY, figure, Double.NaN, unit, detail);
    }
}
