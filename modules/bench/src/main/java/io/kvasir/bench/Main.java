package io.kvasir.bench;

/**
 * Runs the JMH benchmarks of this module: arguments are JMH's own (a benchmark regex, {@code -p
 * type=Q8_0}, {@code -f}, {@code -wi}, ...). Start it with the Vector API module added:
 * {@code java --add-modules jdk.incubator.vector -cp 'modules/bench/target/classes:modules/bench/target/lib/*'
 * io.kvasir.bench.Main MatmulBenchmark}.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        org.openjdk.jmh.Main.main(args);
    }
}
