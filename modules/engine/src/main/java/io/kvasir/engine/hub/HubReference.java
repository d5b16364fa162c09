package io.kvasir.engine.hub;

import io.kvasir.engine.gguf.ErrorText;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model named by its place on the Hugging Face hub:
 *
 * <ul>
 *   <li>{@code hf://OWNER/REPO/FILE.gguf}: that file (it may sit in a folder of the repository);
 *   <li>{@code hf://OWNER/REPO:QUANT}: the repository's one GGUF model of that quant type, such as
 *       {@code Q4_K_M} (case-insensitive), found in its file listing.
 * </ul>
 *
 * Either form may pin a revision (branch, tag or commit) after the repository:
 * {@code hf://OWNER/REPO@REVISION/FILE.gguf}; the default is {@code main}.
 *
 * @param repo     {@code OWNER/REPO}
 * @param revision a branch, tag or commit
 * @param file     the file's path in the repository, or null when a quant type picks it
 * @param quant    the quant type asked for, upper case, or null when the file is named
 */
public record HubReference(String repo, String revision, String file, String quant) {

    public static final String SCHEME = "hf://";
    public static final String DEFAULT_REVISION = "main";

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern QUANT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final Pattern FORM = Pattern.compile("([^/@:]+)/([^/@:]+)(?:@([^/:]+))?(?:/(.+)|:([^/]+))?");

    /**
     * Whether {@code location} names a hub model rather than a local file. The form a
     * {@link java.nio.file.Path} makes of it ({@code hf:/OWNER/...}, the double slash collapsed)
     * counts too, so a reference that went through a path-typed setting is still recognised.
     */
    public static boolean isReference(String location) {
        return location != null && (location.startsWith(SCHEME) || location.startsWith("hf:/"));
    }

    /** Parses a reference; anything malformed is an {@link IllegalArgumentException} saying the accepted forms. */
    public static HubReference parse(String location) {
        if (!isReference(location)) {
            throw malformed(location, "it does not start with " + SCHEME);
        }
        String rest = location.startsWith(SCHEME) ? location.substring(SCHEME.length()) : location.substring(4);
        Matcher m = FORM.matcher(rest);
        if (!m.matches()) {
            throw malformed(location, "expected OWNER/REPO/FILE.gguf or OWNER/REPO:QUANT");
        }
        String owner = m.group(1);
        String name = m.group(2);
        String revision = m.group(3) == null ? DEFAULT_REVISION : m.group(3);
        String file = m.group(4);
        String quant = m.group(5);
        if (!NAME.matcher(owner).matches() || !NAME.matcher(name).matches()) {
            throw malformed(location, "OWNER and REPO are letters, digits, '.', '_' and '-'");
        }
        if (!REVISION.matcher(revision).matches() || revision.contains("..")) {
            throw malformed(location, "the revision after '@' is not a branch, tag or commit name");
        }
        if (file == null && quant == null) {
            throw malformed(location, "name a file (OWNER/REPO/FILE.gguf) or a quant type (OWNER/REPO:Q4_K_M)");
        }
        if (file != null && !safePath(file)) {
            throw malformed(location, "the file path must be relative and stay inside the repository");
        }
        if (file != null && !file.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
            throw malformed(location, "the file must be a .gguf file");
        }
        if (quant != null && !QUANT.matcher(quant).matches()) {
            throw malformed(location, "the quant type after ':' is a name such as Q4_K_M");
        }
        return new HubReference(
                owner + "/" + name, revision, file, quant == null ? null : quant.toUpperCase(Locale.ROOT));
    }

    private static boolean safePath(String file) {
        if (file.startsWith("/") || file.contains("\\") || file.contains("//")) {
            return false;
        }
        for (String segment : file.split("/")) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static IllegalArgumentException malformed(String location, String why) {
        return new IllegalArgumentException("not a hub model reference " + ErrorText.quote(location) + ": " + why
                + " (forms: hf://OWNER/REPO/FILE.gguf, hf://OWNER/REPO:QUANT, with @REVISION after REPO)");
    }

    /** The owner part of {@link #repo}. */
    public String owner() {
        return repo.substring(0, repo.indexOf('/'));
    }

    /** The repository name without its owner. */
    public String name() {
        return repo.substring(repo.indexOf('/') + 1);
    }

    /** The same reference with its file named (after a quant type picked it). */
    public HubReference withFile(String path) {
        return new HubReference(repo, revision, path, null);
    }

    @Override
    public String toString() {
        String rev = revision.equals(DEFAULT_REVISION) ? "" : "@" + revision;
        return SCHEME + repo + rev + (file != null ? "/" + file : ":" + quant);
    }
}
