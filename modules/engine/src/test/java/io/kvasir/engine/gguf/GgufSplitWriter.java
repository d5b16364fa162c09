package io.kvasir.engine.gguf;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a GGUF file the way llama.cpp's {@code gguf-split --split-max-tensors} does: the first
 * part keeps every metadata key, each part gets the {@code split.*} keys, and the tensors are dealt
 * out in file order. Tests use it to make split models without the peer tool.
 */
public final class GgufSplitWriter {

    private GgufSplitWriter() {}

    /**
     * Writes {@code source} as {@code count} parts named {@code prefix-0000i-of-0000N.gguf} in
     * {@code dir}; returns their paths in order.
     */
    public static List<Path> split(Path source, int count, Path dir, String prefix) {
        return split(source, count, dir, prefix, -1);
    }

    /** As above, but the first part claims {@code declaredTensors} tensors in all (when not negative). */
    static List<Path> split(Path source, int count, Path dir, String prefix, int declaredTensors) {
        List<Path> out = new ArrayList<>();
        try (GgufFile f = GgufFile.open(source)) {
            List<TensorInfo> tensors = f.tensors();
            int perPart = (tensors.size() + count - 1) / count;
            for (int i = 0; i < count; i++) {
                GgufWriter w = new GgufWriter().alignment(f.alignment());
                if (i == 0) {
                    for (String key : f.metadata().keySet()) {
                        if (!key.equals("general.alignment")) {
                            w.copy(f, key);
                        }
                    }
                }
                w.putUInt16(GgufSplits.NO, i);
                w.putUInt16(GgufSplits.COUNT, count);
                w.putInt32(GgufSplits.TENSORS_COUNT, declaredTensors < 0 ? tensors.size() : declaredTensors);
                for (TensorInfo t : tensors.subList(
                        Math.min(tensors.size(), i * perPart), Math.min(tensors.size(), (i + 1) * perPart))) {
                    w.addTensor(t.name(), t.type(), t.shape(), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
                }
                Path part = dir.resolve(GgufSplits.partName(prefix, i + 1, count));
                w.write(part);
                out.add(part);
            }
        }
        return out;
    }
}
