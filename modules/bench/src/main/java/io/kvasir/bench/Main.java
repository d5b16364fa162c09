package io.kvasir.bench;

/**
 * Runs the JMH benchmarks of this module; the arguments are JMH's own (a benchmark regex,
 * {@code -p type=Q8_0,F32}, {@code -f}, {@code -wi}, {@code -bm sample}, ...). Build and run from
 * the repository root:
 *
 * <pre>
 * ./mvnw -B -q -pl modules/engine,modules/bench package -DskipTests
 * java --add-modules jdk.incubator.vector -cp 'modules/bench/target/classes:modules/bench/target/lib/*' \
 *     io.kvasir.bench.Main MatmulBenchmark -p type=Q8_0 -p batch=1
 * </pre>
 *
 * <p>On a machine shared with other work, prefer {@code -bm sample} and read the median: a
 * two-thread loop waits for its slowest thread, so one descheduled worker inflates the average.
 */
public final class Main {

    private Main() {}

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args);
    }
}
