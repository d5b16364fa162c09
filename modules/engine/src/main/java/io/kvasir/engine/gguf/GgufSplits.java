package io.kvasir.engine.gguf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The split GGUF convention of llama.cpp's {@code gguf-split}: a model in N files named
 * {@code NAME-00001-of-0000N.gguf} .. {@code NAME-0000N-of-0000N.gguf}, every part carrying
 * {@code split.no} (0-based), {@code split.count} and {@code split.tensors.count}, the first part
 * the model's metadata, and each tensor in exactly one part.
 */
public final class GgufSplits {

    public static final String NO = "split.no";
    public static final String COUNT = "split.count";
    public static final String TENSORS_COUNT = "split.tensors.count";

    private static final Pattern NAME = Pattern.compile("(.+)-(\\d{5})-of-(\\d{5})\\.gguf");

    private GgufSplits() {}

    /** The file name of part {@code no} (1-based) of {@code count}, as llama.cpp names it. */
    public static String partName(String prefix, int no, int count) {
        return String.format("%s-%05d-of-%05d.gguf", prefix, no, count);
    }

    /**
     * Whether a file name is part of a split model, and then its prefix, part number (1-based) and
     * part count; {@code null} when it is not.
     */
    public static Name parse(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return null;
        }
        int no = Integer.parseInt(m.group(2));
        int count = Integer.parseInt(m.group(3));
        return no >= 1 && no <= count ? new Name(m.group(1), no, count) : null;
    }

    /** A split part's name taken apart. */
    public record Name(String prefix, int no, int count) {

        public String partName(int no) {
            return GgufSplits.partName(prefix, no, count);
        }
    }

    /** The paths of the parts after {@code first}; empty for a model that is not split. */
    static List<Path> otherParts(GgufFile.Part first) {
        String fileName = String.valueOf(first.path().getFileName());
        long count = integer(first, COUNT, 1);
        long no = integer(first, NO, 0);
        if (no != 0) {
            Name n = parse(fileName);
            String firstName = n != null ? n.partName(1) : "its part 1";
            throw new GgufException(fileName + ": is part " + (no + 1) + " of " + count
                    + " of a split model; open its first part " + firstName);
        }
        if (count <= 1) {
            return List.of();
        }
        Name name = parse(fileName);
        if (name == null || name.no() != 1 || name.count() != count) {
            throw new GgufException(fileName + ": is part 1 of a model split in " + count
                    + " files, but its name does not follow NAME-00001-of-" + String.format("%05d", count)
                    + ".gguf, so its other parts cannot be found");
        }
        List<Path> others = new ArrayList<>();
        for (int i = 2; i <= count; i++) {
            Path part = first.path().resolveSibling(name.partName(i));
            if (!Files.isReadable(part)) {
                throw new GgufException(
                        fileName + ": part " + i + " of " + count + " of the split model is missing: " + part);
            }
            others.add(part);
        }
        return others;
    }

    /** Checks that the parts agree with each other: numbering, count, and every tensor once. */
    static void check(List<GgufFile.Part> parts) {
        if (parts.size() == 1) {
            return;
        }
        GgufFile.Part first = parts.getFirst();
        String fileName = String.valueOf(first.path().getFileName());
        Set<String> names = new HashSet<>();
        for (int i = 0; i < parts.size(); i++) {
            GgufFile.Part part = parts.get(i);
            String partName = String.valueOf(part.path().getFileName());
            long no = integer(part, NO, -1);
            long count = integer(part, COUNT, -1);
            if (no != i || count != parts.size()) {
                throw new GgufException(partName + ": as part " + (i + 1) + " of " + parts.size()
                        + " it should say " + NO + " = " + i + " and " + COUNT + " = " + parts.size() + ", it says "
                        + describe(no) + " and " + describe(count));
            }
            for (TensorInfo t : part.header().tensors()) {
                if (!names.add(t.name())) {
                    throw new GgufException(partName + ": tensor " + ErrorText.quote(t.name())
                            + " is also in an earlier part of the split model");
                }
            }
        }
        long expected = integer(first, TENSORS_COUNT, -1);
        if (expected != names.size()) {
            throw new GgufException(fileName + ": " + TENSORS_COUNT + " is " + describe(expected) + " but the "
                    + parts.size() + " parts hold " + names.size() + " tensors");
        }
    }

    private static String describe(long v) {
        return v < 0 ? "missing" : Long.toString(v);
    }

    private static long integer(GgufFile.Part part, String key, long absent) {
        Object v = part.header().metadata().get(key);
        if (v == null) {
            return absent;
        }
        if (v instanceof Long l) {
            return l;
        }
        throw new GgufException(part.path().getFileName() + ": metadata " + ErrorText.quote(key)
                + " should be an integer, found " + GgufFile.describe(v));
    }
}
