package io.kvasir.engine.tensor;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells C2 to inline, always, the engine's few helpers whose signatures carry a Vector API vector.
 * A vector stays in registers only while C2 can see where it goes; a call it leaves out of line
 * takes and returns vectors as heap objects, and the loop around it slows several times over. C2
 * inlines a small helper unless it has already compiled that helper on its own into a body larger
 * than {@code InlineSmallCode}: whether that happens depends on which caller got hot first. Moving
 * softmax's four-row exponential into a method of its own once did exactly that to {@code
 * VectorMath.exp}, and decode attention at a 4K context fell from 61 to 29 tokens/s. A compiler
 * directive with an inline rule lifts the size heuristics for the listed methods, whatever got
 * compiled first. It does not lift {@code NodeCountInliningCutoff}: in a method already large
 * enough to reach that limit, a listed helper is still called out of line (a four-group Q5_K
 * kernel that called one allocated 74 KB per call), so the largest kernels still write every
 * vector expression out, and JMH's {@code -prof gc} is the check.
 *
 * <p>The directive is added at run time through HotSpot's {@code DiagnosticCommand} bean (what
 * {@code jcmd Compiler.directives_add} does), so the launcher, the tests, the benchmarks and a JVM
 * embedding the engine all get it without a flag. On a JVM without that bean nothing changes but
 * the risk, and a debug line says so.
 */
final class VectorInlining {

    /**
     * Every engine method that takes or returns a vector, as {@code package/Class.method}.
     * VectorInliningTest fails when a new one is not listed here.
     */
    static final List<String> METHODS = List.of(
            "io/kvasir/engine/model/VectorMath.exp",
            "io/kvasir/engine/tensor/Q6_KMatrix.column",
            "io/kvasir/engine/tensor/Q6_KMatrix.d");

    private static final Logger log = LoggerFactory.getLogger(VectorInlining.class);
    private static final Pattern ADDED = Pattern.compile("(\\d+) compiler directives? added");

    private VectorInlining() {}

    /** The directive: for every method of the engine being compiled, inline the listed ones. */
    static String directive() {
        String inline = METHODS.stream().map(m -> "\"+" + m + "\"").collect(Collectors.joining(", "));
        return "[{ match: \"io/kvasir/*.*\", inline: [" + inline + "] }]";
    }

    /** Adds the directive to this JVM's compiler; whether it was taken. */
    static boolean install() {
        Path file = null;
        try {
            file = Files.createTempFile("kvasir-inline", ".json");
            Files.writeString(file, directive());
            Object answer = ManagementFactory.getPlatformMBeanServer()
                    .invoke(
                            new ObjectName("com.sun.management:type=DiagnosticCommand"),
                            "compilerDirectivesAdd",
                            new Object[] {new String[] {file.toString()}},
                            new String[] {String[].class.getName()});
            Matcher added = ADDED.matcher(String.valueOf(answer));
            if (added.find() && Integer.parseInt(added.group(1)) > 0) {
                return true;
            }
            log.debug("The JVM did not take the vector inlining directive: {}", answer);
        } catch (Exception | LinkageError e) {
            log.debug("No compiler directive for vector helpers on this JVM", e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (java.io.IOException ignored) {
                    // a temporary file of a few bytes; the OS cleans its temporary directory
                }
            }
        }
        return false;
    }
}
