package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StatusLineTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String written() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void onATerminalEachUpdateOverwritesTheLineAndClearLeavesTheMarginFree() {
        StatusLine line = new StatusLine(out, true);
        line.show("step 1/2");
        line.show("step 2/2");
        line.clear();
        out.print("kvasir: an error");

        assertThat(written()).isEqualTo("\r\033[Kstep 1/2\r\033[Kstep 2/2\r\033[Kkvasir: an error");
    }

    @Test
    void elsewhereNoControlCodesAndNoLineForQuickUpdates() {
        StatusLine line = new StatusLine(out, false);
        line.show("step 1/2");
        line.show("step 2/2");
        line.clear();

        assertThat(written()).isEmpty();
    }

    @Test
    void aStreamThatIsNotStderrIsNeverTreatedAsATerminal() {
        StatusLine line = StatusLine.of(out);
        line.show("step");
        assertThat(written()).doesNotContain("\033[");
    }
}
