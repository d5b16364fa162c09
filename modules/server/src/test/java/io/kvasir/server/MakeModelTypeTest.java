package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code make-model --type}: a type the engine cannot compute with is refused, naming every one it can. */
class MakeModelTypeTest {

    @Test
    void anUnsupportedTypeIsRefusedWithTheSupportedOnesListed(@TempDir Path dir) {
        Path out = dir.resolve("m.gguf");
        StringWriter err = new StringWriter();
        var cli = Main.commandLine();
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("make-model", "--out", out.toString(), "--preset", "tiny", "--type", "Q3_K");

        assertThat(code).isNotZero();
        assertThat(Files.exists(out)).isFalse();
        assertThat(err.toString())
                .contains("unsupported --type Q3_K")
                .contains("Q5_0")
                .contains("IQ4_NL")
                .contains("Q6_K")
                .doesNotContain("Q3_K,")
                .doesNotContain("\tat ");
    }
}
