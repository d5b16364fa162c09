package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.kvasir.engine.model.ModelLoadException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model file the engine cannot run (found only when a replica loads it: a hub model fetched
 * then, a file swapped after start) fails that replica once, without the retries that could only
 * fail the same way; readiness says which model, which file and what is wrong; a new file is
 * loaded again.
 */
class LoadFailedForGoodTest {

    @TempDir
    Path dir;

    private ActorTestKit kit;

    @AfterEach
    void stop() {
        if (kit != null) {
            kit.shutdownTestKit();
        }
    }

    @Test
    void aFormatErrorIsNotRetriedUntilTheFileChanges() throws Exception {
        Path file = Files.writeString(dir.resolve("odd.gguf"), "v1");
        AtomicInteger loads = new AtomicInteger();
        EngineFactory unsupported = (model, replica) -> {
            loads.incrementAndGet();
            throw new ModelLoadException("odd.gguf: unsupported model architecture 'falco'");
        };
        kit = ActorTestKit.create(
                "for-good",
                TestNodes.config(
                        "odd { path = \"" + file.toString().replace("\\", "/") + "\" }",
                        List.of("gateway", "decode"),
                        true));
        KvasirFabric fabric = Kvasir.start(kit.system(), unsupported);

        TestNodes.await(() -> fabric.notReadyReason().orElse("").contains("failed to load here"));
        assertThat(fabric.notReadyReason().orElseThrow())
                .contains("replica odd:decode:0 failed to load here: failed to load: model odd: cannot serve " + file
                        + ": odd.gguf: unsupported model architecture 'falco'");
        // Keep-alive pings come every 300 ms here; with backoff they would have reloaded it by now.
        Thread.sleep(2_000);
        assertThat(loads).hasValue(1);

        Files.writeString(file, "version two");
        TestNodes.await(() -> loads.get() == 2);
    }

    @Test
    void aFileNotThereYetIsStillRetried() {
        AtomicInteger loads = new AtomicInteger();
        EngineFactory missing = (model, replica) -> {
            loads.incrementAndGet();
            throw new io.kvasir.engine.gguf.GgufException(
                    "later.gguf: cannot read later.gguf", new java.nio.file.NoSuchFileException("later.gguf"));
        };
        kit = ActorTestKit.create(
                "transient", TestNodes.config("later { path = \"later.gguf\" }", List.of("gateway", "decode"), true));
        Kvasir.start(kit.system(), missing);

        TestNodes.await(() -> loads.get() >= 2);
    }
}
