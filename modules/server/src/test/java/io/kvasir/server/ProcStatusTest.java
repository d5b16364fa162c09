package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcStatusTest {

    @TempDir
    Path dir;

    @Test
    void readsVmRssInBytes() {
        String status = "Name:\tjava\nVmPeak:\t 9999 kB\nVmRSS:\t  412340 kB\nRssAnon:\t 1 kB\n";
        assertThat(ProcStatus.parseRss(status)).hasValue(412340L * 1024);
    }

    @Test
    void noOrMalformedVmRssIsEmpty() {
        assertThat(ProcStatus.parseRss("Name:\tjava\n")).isEmpty();
        assertThat(ProcStatus.parseRss("VmRSS:\t lots kB\n")).isEmpty();
        assertThat(ProcStatus.parseRss("VmRSS:\t 12 parsecs\n")).isEmpty();
    }

    @Test
    void readsTheFileOfAProcessUnderAProcRoot() throws Exception {
        Path status = ProcStatus.of(dir, 4242);
        Files.createDirectories(status.getParent());
        Files.writeString(status, "VmRSS:\t 2048 kB\n");
        assertThat(ProcStatus.rssBytes(status)).hasValue(2048L * 1024);
        assertThat(ProcStatus.rssBytes(ProcStatus.of(dir, 1))).isEmpty();
    }
}
