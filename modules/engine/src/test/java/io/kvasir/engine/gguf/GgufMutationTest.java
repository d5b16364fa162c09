package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loads a few hundred seeded mutations of a small valid model through the real loader
 * ({@link LocalModel#open}: parser, config, tokenizer, chat template, weights, KV pool). Each must
 * either load, and then survive a forward step, or fail with the engine's own exception and a
 * one-line message of bounded length; never with an error from deep inside, never hang, never leave
 * the file mapped or a descriptor open.
 *
 * <p>{@code -Dkvasir.gguf.mutation.seed=S -Dkvasir.gguf.mutation.count=N} choose the cases; case
 * {@code i} of seed {@code S} is case 0 of seed {@code S + i}, which is how a failure says to rerun it.
 */
class GgufMutationTest {

    private static final long DEFAULT_SEED = 20_240_611;
    private static final int DEFAULT_COUNT = 600;
    /** Far above a load of this model (milliseconds); only a hang or a runaway allocation gets near it. */
    private static final long CASE_TIMEOUT_SECONDS = 30;

    private static final SyntheticModel.Spec SPEC =
            new SyntheticModel.Spec(64, 2, 4, 2, 128, 300, 256, GgmlType.Q8_0, 7, false, null, 10000f);
    /**
     * The defaults but one thread and a 64 MiB KV budget: a context length mutated upwards then
     * costs a small pool, not a gigabyte allocated per case.
     */
    private static final EngineOptions OPTIONS =
            EngineOptions.defaults().withThreads(1).withKvBytesMax(64L << 20);
    /** A short ChatML template, so that the template's text and length are mutated and rendered too. */
    private static final String TEMPLATE = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' "
            + "+ m['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}"
            + "{{ '<|im_start|>assistant\\n' }}{% endif %}";

    @TempDir
    Path dir;

    @Test
    void everyMutationLoadsAndRunsOrFailsWithAShortEngineError() throws Exception {
        long seed = Long.getLong("kvasir.gguf.mutation.seed", DEFAULT_SEED);
        int count = Integer.getInteger("kvasir.gguf.mutation.count", DEFAULT_COUNT);
        Path synthetic = dir.resolve("synthetic.gguf");
        SyntheticModel.write(SPEC, synthetic);
        Path good = dir.resolve("good.gguf");
        GgufRewrite.rewrite(synthetic, good, w -> w.putString("tokenizer.chat_template", TEMPLATE));
        GgufMutator mutator = new GgufMutator(Files.readAllBytes(good));
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "gguf-mutation");
            t.setDaemon(true); // a hung case must not keep the test JVM alive
            return t;
        });
        try {
            // The unmutated file loads and runs; this also loads every class the cases use, so the
            // descriptor count below is not disturbed by jars opened for the first time.
            assertThat(run(worker, good)).isEqualTo("loaded");
            int fdsBefore = ProcessFiles.openDescriptors();
            Map<String, Integer> outcomes = new TreeMap<>();
            List<String> failures = new ArrayList<>();
            for (int i = 0; i < count && failures.size() < 20; i++) {
                long caseSeed = seed + i;
                GgufMutator.Mutation m = mutator.mutate(new Random(mix(caseSeed)));
                Path p = dir.resolve("case-" + i + ".gguf");
                Files.write(p, m.bytes());
                String outcome;
                try {
                    outcome = run(worker, p);
                } catch (TimeoutException e) {
                    failures.add(report(caseSeed, m, "no result after " + CASE_TIMEOUT_SECONDS + " s (hang?)"));
                    break; // the worker thread is stuck; later cases cannot run on it
                } catch (CaseFailure e) {
                    failures.add(report(caseSeed, m, e.getMessage()));
                    outcome = "failed";
                }
                if (ProcessFiles.isMapped(p)) {
                    failures.add(report(caseSeed, m, "the file is still mapped after " + outcome));
                }
                Files.delete(p);
                outcomes.merge(outcome, 1, Integer::sum);
            }
            System.out.printf("GGUF mutations, seed %d, %d cases: %s%n", seed, count, outcomes);
            assertThat(failures)
                    .as(
                            "seed %d; rerun one case with -Dkvasir.gguf.mutation.seed=<case seed> "
                                    + "-Dkvasir.gguf.mutation.count=1",
                            seed)
                    .isEmpty();
            int fdsAfter = ProcessFiles.openDescriptors();
            // A little slack for descriptors the JVM itself opens and closes (JIT, GC logs); a leak
            // per case would show as hundreds.
            assertThat(fdsAfter)
                    .as("open file descriptors before %d, after %d", fdsBefore, fdsAfter)
                    .isLessThanOrEqualTo(fdsBefore + 3);
        } finally {
            worker.shutdownNow();
        }
    }

    /**
     * Loads the file on the worker and runs one step of a short generation; returns "loaded" or the
     * engine exception's simple name, or throws {@link CaseFailure} for anything else.
     */
    private static String run(ExecutorService worker, Path p) throws InterruptedException, TimeoutException {
        Future<String> f = worker.submit(() -> {
            try (LocalModel model = LocalModel.open(p, OPTIONS)) {
                int[] prompt = model.chatPrompt(List.of(new ChatMessage("user", "hello")));
                model.engine().addRequest(EngineRequest.of("m", prompt, SamplingParams.greedy(), 2));
                model.engine().step();
                return "loaded";
            }
        });
        try {
            return f.get(CASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return classify(e.getCause());
        }
    }

    private static String classify(Throwable t) {
        if (!(t instanceof GgufException) && !(t instanceof ModelLoadException)) {
            throw new CaseFailure("escaped as " + describe(t));
        }
        String msg = t.getMessage();
        if (msg == null || msg.length() > ErrorText.MAX_MESSAGE || msg.contains("\n") || msg.contains("\r")) {
            throw new CaseFailure("message is not one short line (" + (msg == null ? "null" : msg.length() + " chars")
                    + "): " + ErrorText.oneLine(msg));
        }
        for (Throwable c = t.getCause(); c != null; c = c.getCause()) {
            // The loader's own checks raise these without a cause, or with an I/O error or a
            // tokenizer's argument error; anything else means a deep failure was merely wrapped.
            if (!(c instanceof IOException)
                    && !(c instanceof IllegalArgumentException)
                    && !(c instanceof io.kvasir.engine.chat.ChatTemplateException)) {
                throw new CaseFailure(t.getClass().getSimpleName() + " wraps " + describe(c));
            }
        }
        return t.getClass().getSimpleName();
    }

    private static String describe(Throwable t) {
        StackTraceElement[] st = t.getStackTrace();
        return t.getClass().getName() + ": " + ErrorText.oneLine(String.valueOf(t.getMessage()))
                + (st.length > 0 ? " at " + st[0] : "");
    }

    private static String report(long caseSeed, GgufMutator.Mutation m, String problem) {
        return "case seed " + caseSeed + " (" + ErrorText.oneLine(m.description()) + "): " + problem;
    }

    /** Spreads consecutive seeds apart: java.util.Random's first draws from nearby seeds are alike. */
    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    private static final class CaseFailure extends RuntimeException {
        CaseFailure(String message) {
            super(message);
        }
    }
}
