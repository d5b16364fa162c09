package io.kvasir.engine.chat;

/**
 * Rewrites the few pieces of Python Jinja syntax that Jinjava parses differently or not at all,
 * into forms it runs the same way. Both come from Qwen3's template, which later Qwen templates
 * copy:
 *
 * <ul>
 *   <li>Keyword arguments of {@code namespace(...)} get their values in parentheses: Jinjava binds
 *       {@code name=value} tighter than the arithmetic around it, so {@code
 *       namespace(last=messages|length - 1)} became {@code (last=messages|length) - 1} and failed. A
 *       value that is a single term is unchanged by the parentheses.</li>
 *   <li>{@code x[::-1]} (a reversed copy) becomes {@code (x|reverse)}: Jinjava's slices take no
 *       step.</li>
 * </ul>
 */
final class PythonJinjaSyntax {

    private static final String CALL = "namespace(";

    private static final java.util.regex.Pattern REVERSED =
            java.util.regex.Pattern.compile("([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*)\\[::-1\\]");

    private PythonJinjaSyntax() {}

    static String apply(String source) {
        return namespaceArguments(REVERSED.matcher(source).replaceAll("($1|reverse)"));
    }

    private static String namespaceArguments(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        int i = 0;
        while (true) {
            int at = source.indexOf(CALL, i);
            if (at < 0 || (at > 0 && Character.isJavaIdentifierPart(source.charAt(at - 1)))) {
                if (at < 0) {
                    out.append(source, i, source.length());
                    return out.toString();
                }
                out.append(source, i, at + CALL.length());
                i = at + CALL.length();
                continue;
            }
            int open = at + CALL.length();
            int close = matchingParen(source, open);
            if (close < 0) {
                out.append(source, i, source.length());
                return out.toString();
            }
            out.append(source, i, open);
            out.append(rewriteArguments(source.substring(open, close)));
            out.append(')');
            i = close + 1;
        }
    }

    /** The index of the ')' closing the call whose arguments start at {@code from}, or -1. */
    private static int matchingParen(String s, int from) {
        int depth = 0;
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) {
                    return c == ')' ? i : -1;
                }
                depth--;
            }
        }
        return -1;
    }

    private static String rewriteArguments(String args) {
        StringBuilder out = new StringBuilder(args.length() + 8);
        int depth = 0;
        char quote = 0;
        int start = 0;
        for (int i = 0; i <= args.length(); i++) {
            char c = i < args.length() ? args.charAt(i) : ',';
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
                continue;
            }
            if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.append(rewriteOne(args.substring(start, Math.min(i, args.length()))));
                if (i < args.length()) {
                    out.append(',');
                }
                start = i + 1;
            }
        }
        return out.toString();
    }

    /** {@code name=value} becomes {@code name=(value)}; anything else (a positional argument) is kept. */
    private static String rewriteOne(String arg) {
        int eq = arg.indexOf('=');
        if (eq <= 0 || eq + 1 < arg.length() && arg.charAt(eq + 1) == '=') {
            return arg;
        }
        String name = arg.substring(0, eq).strip();
        if (name.isEmpty() || !name.chars().allMatch(Character::isJavaIdentifierPart)) {
            return arg;
        }
        String value = arg.substring(eq + 1);
        if (value.isBlank()) {
            return arg;
        }
        return arg.substring(0, eq + 1) + "(" + value.strip() + ")";
    }
}
