package io.kvasir.engine.gguf;

/**
 * Keeps load errors readable. A corrupt length in a GGUF file can turn a key, a tensor name or a
 * value into hundreds of kilobytes of raw bytes; quoted whole, one error once became a 352 KB log
 * line. Values from a file are therefore quoted through {@link #quote}, and every message of the
 * engine's load exceptions passes through {@link #oneLine} as a last line of defence.
 */
public final class ErrorText {

    /** How many characters of a value from the file an error quotes. */
    public static final int MAX_QUOTED = 64;
    /** The longest load error message; long enough for a file name, a key and a reason. */
    public static final int MAX_MESSAGE = 480;

    private ErrorText() {}

    /**
     * A value from a file as an error shows it: in single quotes, at most {@link #MAX_QUOTED}
     * characters, control and other unprintable characters escaped, and the full length said when
     * cut ({@code 'abc…' (352114 chars)}).
     */
    public static String quote(String value) {
        if (value == null) {
            return "null";
        }
        int shown = Math.min(value.length(), MAX_QUOTED);
        // Never split a surrogate pair: half a pair would print as a replacement character.
        if (shown < value.length() && Character.isHighSurrogate(value.charAt(shown - 1))) {
            shown--;
        }
        StringBuilder b = new StringBuilder(shown + 24).append('\'');
        escape(value, 0, shown, b, Integer.MAX_VALUE);
        if (shown == value.length()) {
            return b.append('\'').toString();
        }
        return b.append("…' (").append(value.length()).append(" chars)").toString();
    }

    /**
     * A message made safe to log: one line (line breaks and other control characters escaped) of at
     * most {@link #MAX_MESSAGE} characters, the cut said at the end.
     */
    public static String oneLine(String message) {
        if (message == null) {
            return null;
        }
        StringBuilder b = new StringBuilder(Math.min(message.length(), MAX_MESSAGE) + 16);
        // Escaping stops early, so a megabyte message costs a few hundred characters, not a copy.
        int used = escape(message, 0, message.length(), b, MAX_MESSAGE + 1);
        if (used == message.length() && b.length() <= MAX_MESSAGE) {
            return b.toString();
        }
        String tail = "… (cut; " + message.length() + " chars in all)";
        int keep = MAX_MESSAGE - tail.length();
        if (Character.isHighSurrogate(b.charAt(keep - 1))) {
            keep--;
        }
        b.setLength(keep);
        return b.append(tail).toString();
    }

    /** Appends the escaped chars of {@code s[from, to)}, stopping once {@code out} holds {@code limit}; returns where it stopped. */
    private static int escape(String s, int from, int to, StringBuilder out, int limit) {
        int i = from;
        for (; i < to && out.length() < limit; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (printable(c)) {
                        out.append(c);
                    } else if (c < 0x100) {
                        out.append(String.format("\\x%02x", (int) c));
                    } else {
                        out.append(String.format("\\u%04x", (int) c));
                    }
                }
            }
        }
        return i;
    }

    /**
     * Letters, digits, punctuation and symbols of any script print as themselves (a Chinese token
     * name is readable); controls, format characters and unassigned code points do not, and U+FFFD
     * (what invalid UTF-8 decodes to) is escaped so garbage looks like garbage. Surrogates print:
     * decoding never leaves a lone one, and pairs are only cut whole.
     */
    private static boolean printable(char c) {
        if (c == '\uFFFD') {
            return false;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL,
                    Character.FORMAT,
                    Character.UNASSIGNED,
                    Character.PRIVATE_USE,
                    Character.LINE_SEPARATOR,
                    Character.PARAGRAPH_SEPARATOR -> false;
            default -> true;
        };
    }
}
