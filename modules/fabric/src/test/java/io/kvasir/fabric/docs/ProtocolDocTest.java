package io.kvasir.fabric.docs;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.session.SessionProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * fabric.md's protocol tables are the sealed protocols, rendered: a message added, renamed or
 * given another reply type without the docs following fails here. Run with
 * {@code -Dkvasir.docs.write=true} to rewrite the tables from the code.
 */
class ProtocolDocTest {

    private static final Map<String, Class<?>> PROTOCOLS = Map.of(
            "ReplicaProtocol", ReplicaProtocol.Command.class,
            "SessionProtocol", SessionProtocol.Command.class,
            "DirectoryProtocol", DirectoryProtocol.Command.class);

    @Test
    void fabricDocShowsEveryActorProtocolAsTheCodeDefinesIt() throws Exception {
        Path doc = locate();
        String text = Files.readString(doc);
        String updated = text;
        for (var protocol : PROTOCOLS.entrySet()) {
            Pattern block = Pattern.compile(
                    "(<!-- protocol:" + protocol.getKey() + " -->\n)(.*?)(<!-- /protocol -->)", Pattern.DOTALL);
            Matcher m = block.matcher(updated);
            assertThat(m.find())
                    .as("fabric.md has a table for " + protocol.getKey())
                    .isTrue();
            updated = m.replaceFirst(
                    Matcher.quoteReplacement(m.group(1) + ProtocolTable.render(protocol.getValue()) + m.group(3)));
        }
        if (Boolean.getBoolean("kvasir.docs.write")) {
            Files.writeString(doc, updated);
        }
        assertThat(text)
                .as("fabric.md protocol tables (rewrite with -Dkvasir.docs.write=true)")
                .isEqualTo(updated);
    }

    @Test
    void tablesListPublicMessagesAndTheirReplyTypes() {
        String replica = ProtocolTable.render(ReplicaProtocol.Command.class);
        assertThat(replica)
                .contains("| `Generate` |")
                .contains("replyTo: `Accepted \\| Refused`")
                .contains("turnEnded: `TurnEnded`")
                .doesNotContain("Rendered")
                .doesNotContain("Loaded");
    }

    private static Path locate() {
        // Surefire runs in the module directory; the site docs live at the repository root.
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("src/site/markdown/fabric.md");
            if (Files.exists(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException(
                "src/site/markdown/fabric.md not found above " + Path.of("").toAbsolutePath());
    }
}
