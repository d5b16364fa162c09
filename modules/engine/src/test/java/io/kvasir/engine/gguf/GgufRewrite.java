package io.kvasir.engine.gguf;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Copies a GGUF file, metadata and tensors, with changes made to the metadata on the way. */
public final class GgufRewrite {

    private GgufRewrite() {}

    /** Writes {@code to} as a copy of {@code from} after {@code change} has edited the metadata. */
    public static void rewrite(Path from, Path to, Consumer<GgufWriter> change) {
        try (GgufFile f = GgufFile.open(from)) {
            GgufWriter w = new GgufWriter();
            for (String k : f.metadata().keySet()) {
                w.copy(f, k);
            }
            change.accept(w);
            for (TensorInfo t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(to);
        }
    }
}
