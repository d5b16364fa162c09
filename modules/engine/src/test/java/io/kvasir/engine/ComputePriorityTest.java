package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ComputePriorityTest {

    @Test
    void aComputeThreadRunsAtALowerPriorityThanTheRestOfTheProcess() throws Exception {
        assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "per-thread nice is Linux's");
        AtomicReference<String> nice = new AtomicReference<>();
        AtomicReference<Boolean> lowered = new AtomicReference<>();
        Thread compute = new Thread(() -> {
            lowered.set(ComputePriority.lowerCurrentThread());
            nice.set(niceOfThisThread());
        });
        compute.start();
        compute.join();

        assertThat(lowered.get()).isTrue();
        // /proc/thread-self/stat field 19 is the nice value.
        assertThat(Integer.parseInt(nice.get())).isEqualTo(ComputePriority.NICE);
        assertThat(Integer.parseInt(niceOfThisThread())).isZero();
    }

    private static String niceOfThisThread() {
        try {
            String stat = Files.readString(Path.of("/proc/thread-self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return fields[16]; // fields after the command start at field 3
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
