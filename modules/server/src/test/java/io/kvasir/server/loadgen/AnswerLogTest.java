package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AnswerLogTest {

    @TempDir
    Path dir;

    @Test
    void aRunComparedWithItsOwnFileIsIdentical() {
        AnswerLog run = new AnswerLog();
        run.record(0, 1, "Once upon a time");
        run.record(1, 1, "there was a \"quoted\"\nline");
        Path file = dir.resolve("a.jsonl");
        run.write(file);

        AnswerLog.Comparison c = run.compareWith(AnswerLog.read(file));
        assertThat(c.compared()).isEqualTo(2);
        assertThat(c.identical()).isTrue();
    }

    @Test
    void aRepeatedTokenShowsWhereTheAnswersPart() {
        AnswerLog reference = new AnswerLog();
        reference.record(0, 1, "the cat sat on the mat");
        reference.record(3, 2, "fine");
        Path file = dir.resolve("ref.jsonl");
        reference.write(file);

        AnswerLog run = new AnswerLog();
        run.record(0, 1, "the cat sat sat on the mat");
        run.record(3, 2, "fine");
        run.record(9, 1, "only in this run");
        AnswerLog.Comparison c = run.compareWith(AnswerLog.read(file));

        assertThat(c.compared()).isEqualTo(2);
        assertThat(c.missingFromReference()).isEqualTo(1);
        assertThat(c.differences()).singleElement().satisfies(d -> {
            assertThat(d.key()).isEqualTo(AnswerLog.key(0, 1));
            assertThat(d.at()).isEqualTo("the cat sat ".length());
            assertThat(d.actual()).startsWith("sat sat");
        });
        assertThat(c.summary()).contains("differing: 1").contains("session 0 turn 1 differs at char 12");
    }

    @Test
    void aFileThatIsNotAnAnswerLogIsRefusedWithItsLine() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"key\":\"session 0 turn 1\",\"text\":\"ok\"}\nnot json\n");
        assertThatThrownBy(() -> AnswerLog.read(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 2");
    }
}
