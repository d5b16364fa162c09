package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.management.ObjectName;
import jdk.incubator.vector.Vector;
import org.junit.jupiter.api.Test;

class VectorInliningTest {

    @Test
    void everyEngineMethodWithAVectorInItsSignatureIsListed() throws Exception {
        Path classes = Path.of(VectorInlining.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        List<String> names = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            files.filter(f -> f.toString().endsWith(".class") && !f.endsWith("module-info.class"))
                    .forEach(f -> {
                        String relative = classes.relativize(f).toString();
                        names.add(relative.substring(0, relative.length() - ".class".length()));
                    });
        }
        assertThat(names).contains("io/kvasir/engine/model/VectorMath", "io/kvasir/engine/tensor/Q6_KMatrix");
        var found = new TreeSet<String>();
        for (String name : names) {
            Class<?> type =
                    Class.forName(name.replace('/', '.'), false, getClass().getClassLoader());
            for (Method m : type.getDeclaredMethods()) {
                boolean carries = Vector.class.isAssignableFrom(m.getReturnType())
                        || Arrays.stream(m.getParameterTypes()).anyMatch(Vector.class::isAssignableFrom);
                if (carries) {
                    found.add(name + "." + m.getName());
                }
            }
        }
        assertThat(found)
                .as("methods taking or returning vectors must be in VectorInlining.METHODS")
                .isNotEmpty()
                .isSubsetOf(VectorInlining.METHODS);
    }

    @Test
    void theDirectiveReachesTheCompiler() throws Exception {
        assertThat(VectorInlining.install()).isTrue();
        Object printed = ManagementFactory.getPlatformMBeanServer()
                .invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"),
                        "compilerDirectivesPrint",
                        new Object[] {new String[0]},
                        new String[] {String[].class.getName()});
        assertThat(String.valueOf(printed))
                .contains("matching: io/kvasir/*.*")
                .contains("+io/kvasir/engine/model/VectorMath.exp");
    }
}
