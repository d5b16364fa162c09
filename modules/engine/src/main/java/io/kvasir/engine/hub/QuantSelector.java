package io.kvasir.engine.hub;

import io.kvasir.engine.gguf.GgufSplits;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Picks the model of one quant type from a repository's files, as {@code hf://OWNER/REPO:Q4_K_M}
 * asks. A GGUF repository usually holds one file per quant type, named like
 * {@code Model-7B-Q4_K_M.gguf} or {@code model.Q4_K_M.gguf}, large ones split in parts and
 * sometimes in a folder per type ({@code Q8_0/Model-Q8_0-00001-of-00002.gguf}). The type matches
 * as a whole word of the path between {@code -}, {@code .} or {@code /}, so {@code Q4_K} does not
 * pick {@code Q4_K_M}. Vision projectors ({@code mmproj-*.gguf}) are never the model.
 */
final class QuantSelector {

    private static final Pattern QUANT_LIKE = Pattern.compile(
            "(?i)(?:^|[-./])((?:UD-)?(?:I?Q[0-9]_[A-Z0-9_]+|Q[0-9]_[0-9]|F16|F32|BF16|TQ[0-9]_[0-9]))(?=[-./]|$)");

    private QuantSelector() {}

    /** The files of the one model of {@code ref.quant()} in {@code files}, parts in order. */
    static List<String> select(HubReference ref, List<String> files) {
        Map<String, List<String>> models = new TreeMap<>();
        Pattern word =
                Pattern.compile("(?:^|[-./])" + Pattern.quote(ref.quant()) + "(?=[-./]|$)", Pattern.CASE_INSENSITIVE);
        for (String f : ggufModels(files)) {
            if (word.matcher(stem(f)).find()) {
                models.computeIfAbsent(modelKey(f), k -> new ArrayList<>()).add(f);
            }
        }
        if (models.isEmpty()) {
            throw new HubException(ref + ": " + ref.repo() + " has no GGUF model of quant type " + ref.quant()
                    + "; it has " + available(files));
        }
        if (models.size() > 1) {
            throw new HubException(ref + ": " + ref.quant() + " is ambiguous in " + ref.repo() + ", it matches "
                    + String.join(", ", models.keySet()) + "; name the file: hf://" + ref.repo() + "/FILE.gguf");
        }
        List<String> parts = models.values().iterator().next();
        parts.sort(null);
        GgufSplits.Name split = GgufSplits.parse(fileName(parts.getFirst()));
        if (split != null && (split.no() != 1 || parts.size() != split.count())) {
            throw new HubException(ref + ": " + ref.repo() + " lists " + parts.size() + " of the " + split.count()
                    + " parts of " + modelKey(parts.getFirst()));
        }
        return parts;
    }

    /** The quant types (or, failing names that look like one, the files) a repository offers. */
    static String available(List<String> files) {
        List<String> models = ggufModels(files);
        if (models.isEmpty()) {
            return "no GGUF files";
        }
        TreeSet<String> quants = new TreeSet<>();
        for (String f : models) {
            var m = QUANT_LIKE.matcher(stem(f));
            String found = null;
            while (m.find()) {
                found = m.group(1).toUpperCase(Locale.ROOT);
            }
            quants.add(found != null ? found : f);
        }
        return String.join(", ", quants);
    }

    private static List<String> ggufModels(List<String> files) {
        return files.stream()
                .filter(f -> f.toLowerCase(Locale.ROOT).endsWith(".gguf"))
                .filter(f -> !fileName(f).toLowerCase(Locale.ROOT).startsWith("mmproj"))
                .toList();
    }

    /** The path without {@code .gguf} and without a split suffix. */
    private static String stem(String path) {
        GgufSplits.Name split = GgufSplits.parse(fileName(path));
        String dir = path.substring(0, path.length() - fileName(path).length());
        return split != null ? dir + split.prefix() : path.substring(0, path.length() - ".gguf".length());
    }

    /** One key per model: the file, or the parts of a split model under their shared name. */
    private static String modelKey(String path) {
        GgufSplits.Name split = GgufSplits.parse(fileName(path));
        String dir = path.substring(0, path.length() - fileName(path).length());
        return split != null ? dir + split.partName(1) : path;
    }

    private static String fileName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
