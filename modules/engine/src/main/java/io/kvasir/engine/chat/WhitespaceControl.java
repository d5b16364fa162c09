package io.kvasir.engine.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Applies Jinja's whitespace rules to a template's source, the way Hugging Face configures its
 * environment: {@code trim_blocks} (the newline after a block or comment tag goes),
 * {@code lstrip_blocks} (spaces and tabs before a block or comment tag that starts a line go),
 * {@code -} markers (all whitespace on that side goes) and {@code +} markers (no trimming on that
 * side). The result has plain tags and needs no whitespace handling from the engine that renders
 * it; Jinjava's own versions of these options differ from Jinja's in corner cases that chat
 * templates hit (a {@code {%-} after indentation, {@code {{-} at the start of a line).
 */
final class WhitespaceControl {

    private static final Pattern END_RAW = Pattern.compile("\\{%[-+]?\\s*endraw\\s*[-+]?%}");

    private WhitespaceControl() {}

    private enum Kind {
        EXPRESSION,
        BLOCK,
        COMMENT
    }

    /** A literal run of template text, or a tag with its markers. */
    private record Piece(String text, Kind kind, char left, char right) {
        boolean isTag() {
            return kind != null;
        }

        boolean trims() {
            return kind == Kind.BLOCK || kind == Kind.COMMENT;
        }
    }

    static String apply(String source) {
        List<Piece> pieces = split(source);
        StringBuilder out = new StringBuilder(source.length());
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            if (p.isTag()) {
                out.append(p.text);
                continue;
            }
            Piece before = i > 0 ? pieces.get(i - 1) : null;
            Piece after = i + 1 < pieces.size() ? pieces.get(i + 1) : null;
            String text = p.text;
            int start = 0;
            int end = text.length();
            if (before != null && before.right == '-') {
                while (start < end && Character.isWhitespace(text.charAt(start))) {
                    start++;
                }
            } else if (before != null && before.trims() && before.right != '+') {
                if (text.startsWith("\n")) {
                    start = 1;
                } else if (text.startsWith("\r\n")) {
                    start = 2;
                }
            }
            if (after != null && after.left == '-') {
                while (end > start && Character.isWhitespace(text.charAt(end - 1))) {
                    end--;
                }
            } else if (after != null && after.trims() && after.left != '+') {
                int lineStart = end;
                while (lineStart > 0 && (text.charAt(lineStart - 1) == ' ' || text.charAt(lineStart - 1) == '\t')) {
                    lineStart--;
                }
                boolean atLineStart = lineStart > 0 ? text.charAt(lineStart - 1) == '\n' : before == null;
                if (atLineStart) {
                    end = Math.max(start, lineStart);
                }
            }
            out.append(text, start, Math.max(start, end));
        }
        return out.toString();
    }

    /** Cuts the source into literal text and tags, with the markers taken out of the tags. */
    private static List<Piece> split(String s) {
        List<Piece> pieces = new ArrayList<>();
        int pos = 0;
        int literalStart = 0;
        while (pos < s.length() - 1) {
            if (s.charAt(pos) != '{') {
                pos++;
                continue;
            }
            char c = s.charAt(pos + 1);
            Kind kind = c == '{' ? Kind.EXPRESSION : c == '%' ? Kind.BLOCK : c == '#' ? Kind.COMMENT : null;
            if (kind == null) {
                pos++;
                continue;
            }
            if (pos > literalStart) {
                pieces.add(new Piece(s.substring(literalStart, pos), null, ' ', ' '));
            }
            int bodyStart = pos + 2;
            char left = bodyStart < s.length() && (s.charAt(bodyStart) == '-' || s.charAt(bodyStart) == '+')
                    ? s.charAt(bodyStart)
                    : ' ';
            if (left != ' ') {
                bodyStart++;
            }
            int close = findClose(s, bodyStart, kind, pos);
            int bodyEnd = close;
            char right = ' ';
            if (bodyEnd > bodyStart && (s.charAt(bodyEnd - 1) == '-' || s.charAt(bodyEnd - 1) == '+')) {
                right = s.charAt(bodyEnd - 1);
                bodyEnd--;
            }
            String body = s.substring(bodyStart, bodyEnd);
            String open = s.substring(pos, pos + 2);
            String closer = s.substring(close, close + 2);
            pieces.add(new Piece(open + " " + body.strip() + " " + closer, kind, left, right));
            pos = close + 2;
            literalStart = pos;
            if (kind == Kind.BLOCK && body.strip().equals("raw")) {
                // raw content is literal text: copy it through untouched, up to the endraw tag
                Matcher m = END_RAW.matcher(s).region(pos, s.length());
                if (!m.find()) {
                    throw new ChatTemplateException("chat template: {% raw %} without {% endraw %}");
                }
                pieces.add(new Piece(s.substring(pos, m.start()), null, ' ', ' '));
                pieces.add(new Piece("{% endraw %}", Kind.BLOCK, ' ', ' '));
                pos = m.end();
                literalStart = pos;
            }
        }
        if (literalStart < s.length()) {
            pieces.add(new Piece(s.substring(literalStart), null, ' ', ' '));
        }
        return pieces;
    }

    /** Index of the closing {@code }}}/{@code %}}/{@code #}} of a tag, skipping quoted strings. */
    private static int findClose(String s, int from, Kind kind, int tagStart) {
        char closeChar = kind == Kind.EXPRESSION ? '}' : kind == Kind.BLOCK ? '%' : '#';
        char quote = 0;
        for (int i = from; i < s.length() - 1; i++) {
            char c = s.charAt(i);
            if (kind != Kind.COMMENT) {
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
                    continue;
                }
            }
            if (c == closeChar && s.charAt(i + 1) == '}') {
                return i;
            }
        }
        int line = 1;
        for (int i = 0; i < tagStart; i++) {
            if (s.charAt(i) == '\n') {
                line++;
            }
        }
        throw new ChatTemplateException("chat template: tag opened on line " + line + " is never closed");
    }
}
