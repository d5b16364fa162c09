package io.kvasir.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * The functions and filters Hugging Face adds to its chat-template environment:
 * {@code raise_exception(msg)}, {@code strftime_now(fmt)} and {@code tojson}. They are static
 * because Jinjava binds functions to static methods; per-render state (the clock, the raised
 * message) travels in the render's context under {@link #STATE}.
 */
final class TemplateFunctions {

    /** Context variable holding the {@link RenderState} of the render in progress. */
    static final String STATE = "__kvasir_render_state";

    private TemplateFunctions() {}

    /** What one render needs from outside and reports back. */
    static final class RenderState {
        final ZonedDateTime now;
        String raised;

        RenderState(ZonedDateTime now) {
            this.now = now;
        }
    }

    private static RenderState state() {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Object s = interpreter == null ? null : interpreter.getContext().get(STATE);
        if (!(s instanceof RenderState rs)) {
            throw new IllegalStateException("chat template function called outside a ChatTemplate render");
        }
        return rs;
    }

    /** Records the template's message; Jinjava turns the exception into a render error. */
    public static Object raiseException(Object message) {
        String text = String.valueOf(message);
        RenderState rs = state();
        if (rs.raised == null) {
            rs.raised = text;
        }
        throw new ChatTemplateException("chat template raised: " + text);
    }

    /** Python's {@code datetime.now().strftime(fmt)}, for the directives chat templates use. */
    public static String strftimeNow(String format) {
        return strftime(state().now, format);
    }

    static String strftime(ZonedDateTime t, String format) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                b.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean noPad = d == '-' && i + 1 < format.length();
            if (noPad) {
                d = format.charAt(++i);
            }
            switch (d) {
                case 'Y' -> b.append(t.getYear());
                case 'y' -> pad(b, t.getYear() % 100, 2, false);
                case 'm' -> pad(b, t.getMonthValue(), 2, noPad);
                case 'd' -> pad(b, t.getDayOfMonth(), 2, noPad);
                case 'e' -> b.append(String.format("%2d", t.getDayOfMonth()));
                case 'H' -> pad(b, t.getHour(), 2, noPad);
                case 'I' -> pad(b, (t.getHour() + 11) % 12 + 1, 2, noPad);
                case 'M' -> pad(b, t.getMinute(), 2, noPad);
                case 'S' -> pad(b, t.getSecond(), 2, noPad);
                case 'j' -> pad(b, t.getDayOfYear(), 3, noPad);
                case 'p' -> b.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b', 'h' -> b.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> b.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> b.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'Z' -> b.append(t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case '%' -> b.append('%');
                default -> b.append('%').append(noPad ? "-" : "").append(d);
            }
        }
        return b.toString();
    }

    private static void pad(StringBuilder b, int value, int width, boolean noPad) {
        String s = Integer.toString(value);
        if (!noPad) {
            b.append("0".repeat(Math.max(0, width - s.length())));
        }
        b.append(s);
    }

    /**
     * {@code tojson} as Hugging Face defines it: Python's {@code json.dumps} with
     * {@code ensure_ascii=False}, so {@code ", "} and {@code ": "} separators and non-ASCII kept;
     * an optional first argument is the indent.
     */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
            int indent = -1;
            if (args.length > 0 && args[0] != null && !args[0].isBlank() && !"None".equals(args[0])) {
                try {
                    indent = Integer.parseInt(args[0].strip());
                } catch (NumberFormatException e) {
                    throw new ChatTemplateException(
                            "chat template: tojson indent '" + args[0] + "' is not a number", e);
                }
            }
            StringBuilder b = new StringBuilder();
            write(b, value, indent, 0);
            return b.toString();
        }

        private static void write(StringBuilder b, Object v, int indent, int depth) {
            switch (v) {
                case null -> b.append("null");
                case Boolean bool -> b.append(bool);
                case Double d
                when d.isNaN() || d.isInfinite() -> b.append(d.isNaN() ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                case Number n -> b.append(n);
                case Map<?, ?> map ->
                    container(b, map.entrySet().iterator(), '{', '}', indent, depth, (e, bb) -> {
                        Map.Entry<?, ?> entry = (Map.Entry<?, ?>) e;
                        string(bb, String.valueOf(entry.getKey()));
                        bb.append(": ");
                        write(bb, entry.getValue(), indent, depth + 1);
                    });
                case Iterable<?> list ->
                    container(b, list.iterator(), '[', ']', indent, depth, (e, bb) -> write(bb, e, indent, depth + 1));
                case Object[] array -> write(b, java.util.Arrays.asList(array), indent, depth);
                default -> string(b, String.valueOf(v));
            }
        }

        private interface ItemWriter {
            void write(Object item, StringBuilder b);
        }

        private static void container(
                StringBuilder b, Iterator<?> items, char open, char close, int indent, int depth, ItemWriter writer) {
            b.append(open);
            boolean first = true;
            while (items.hasNext()) {
                Object item = items.next();
                if (!first) {
                    b.append(indent >= 0 ? "," : ", ");
                }
                if (indent >= 0) {
                    b.append('\n').append(" ".repeat(indent * (depth + 1)));
                }
                writer.write(item, b);
                first = false;
            }
            if (indent >= 0 && !first) {
                b.append('\n').append(" ".repeat(indent * depth));
            }
            b.append(close);
        }

        private static void string(StringBuilder b, String s) {
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    case '\b' -> b.append("\\b");
                    case '\f' -> b.append("\\f");
                    default -> {
                        if (c < 0x20) {
                            b.append(String.format("\\u%04x", (int) c));
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            b.append('"');
        }
    }
}
