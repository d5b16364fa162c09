package io.kvasir.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The progress a download shows, on a terminal and in a log, on a clock the test moves. */
class DownloadProgressTest {

    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
    private final AtomicLong now = new AtomicLong();

    private String shown() {
        return buffer.toString(StandardCharsets.UTF_8);
    }

    @Test
    void onATerminalOneBarIsRedrawnInPlace() {
        long mib = 1 << 20;
        DownloadProgress p = new DownloadProgress(out, true, "m.gguf", 0, 100 * mib, now::get);
        now.set(1_000_000_000L);
        p.update(25 * mib);
        now.set(1_050_000_000L);
        p.update(30 * mib); // too soon after the last redraw: not shown
        now.set(2_000_000_000L);
        p.update(50 * mib);
        p.finish("done (100.0 MiB)");

        String[] frames = shown().split("\r");
        assertThat(frames[2])
                .startsWith("m.gguf [=======                       ]  25% 25.0 MiB / 100.0 MiB, 25.0 MiB/s");
        assertThat(frames[3])
                .startsWith("m.gguf [===============               ]  50% 50.0 MiB / 100.0 MiB, 25.0 MiB/s");
        assertThat(shown()).doesNotContain(" 30% ").endsWith("\nkvasir: m.gguf done (100.0 MiB)\n");
    }

    @Test
    void inALogAPlainLineEveryTenSeconds() {
        long mib = 1 << 20;
        DownloadProgress p = new DownloadProgress(out, false, "m.gguf", 10 * mib, 100 * mib, now::get);
        for (int s = 1; s <= 25; s++) {
            now.set(s * 1_000_000_000L);
            p.update(10 * mib + s * mib);
        }

        assertThat(shown().lines())
                .containsExactly(
                        "kvasir: downloading m.gguf (100.0 MiB), resuming at 10.0 MiB",
                        "kvasir: m.gguf  20% 20.0 MiB / 100.0 MiB, 1.0 MiB/s",
                        "kvasir: m.gguf  30% 30.0 MiB / 100.0 MiB, 1.0 MiB/s");
    }
}
