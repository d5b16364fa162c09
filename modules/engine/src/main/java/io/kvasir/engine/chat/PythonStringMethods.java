package io.kvasir.engine.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's {@code str} methods for Jinjava, which otherwise only knows Java's: chat templates call
 * {@code content.strip()}, {@code role.startswith('sys')}, {@code text.split('\n')} and the like.
 * Only method calls on strings are handled; everything else falls through to Jinjava's resolvers.
 */
final class PythonStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence seq) || method == null) {
            return null;
        }
        String s = seq.toString();
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, method.toString(), p);
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    static Object call(String s, String method, Object[] p) {
        return switch (method) {
            case "strip" -> p.length == 0 || p[0] == null ? s.strip() : rstrip(lstrip(s, str(p[0])), str(p[0]));
            case "lstrip" -> p.length == 0 || p[0] == null ? s.stripLeading() : lstrip(s, str(p[0]));
            case "rstrip" -> p.length == 0 || p[0] == null ? s.stripTrailing() : rstrip(s, str(p[0]));
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" ->
                s.isEmpty()
                        ? s
                        : s.substring(0, 1).toUpperCase(Locale.ROOT)
                                + s.substring(1).toLowerCase(Locale.ROOT);
            case "startswith" -> anyOf(p, s::startsWith);
            case "endswith" -> anyOf(p, s::endsWith);
            case "split" -> split(s, p.length > 0 ? p[0] : null, p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "replace" ->
                p.length >= 2
                        ? replace(s, str(p[0]), str(p[1]), p.length > 2 ? ((Number) p[2]).intValue() : -1)
                        : NOT_HANDLED;
            case "find" -> p.length >= 1 ? (long) s.indexOf(str(p[0])) : NOT_HANDLED;
            case "count" -> p.length >= 1 ? count(s, str(p[0])) : NOT_HANDLED;
            case "join" -> p.length == 1 && p[0] instanceof Iterable<?> items ? join(s, items) : NOT_HANDLED;
            case "isspace" -> !s.isEmpty() && s.isBlank();
            case "isdigit" -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isalpha" -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            default -> NOT_HANDLED;
        };
    }

    private static String str(Object o) {
        return String.valueOf(o);
    }

    private static boolean anyOf(Object[] p, java.util.function.Predicate<String> test) {
        if (p.length == 0) {
            return false;
        }
        if (p[0] instanceof Collection<?> options) {
            return options.stream().anyMatch(o -> test.test(str(o)));
        }
        return test.test(str(p[0]));
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && chars.indexOf(s.charAt(i - 1)) >= 0) {
            i--;
        }
        return s.substring(0, i);
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return b.toString();
    }

    /** Python semantics: no separator splits on whitespace runs and drops empty ends. */
    private static List<String> split(String s, Object separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            String rest = s.strip();
            while (!rest.isEmpty()) {
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(rest);
                    return parts;
                }
                int i = 0;
                while (i < rest.length() && !Character.isWhitespace(rest.charAt(i))) {
                    i++;
                }
                parts.add(rest.substring(0, i));
                rest = rest.substring(i).stripLeading();
            }
            return parts;
        }
        String sep = str(separator);
        if (sep.isEmpty()) {
            throw new ChatTemplateException("chat template: split() with an empty separator");
        }
        int from = 0;
        while (maxSplit < 0 || parts.size() < maxSplit) {
            int i = s.indexOf(sep, from);
            if (i < 0) {
                break;
            }
            parts.add(s.substring(from, i));
            from = i + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static String replace(String s, String old, String with, int count) {
        if (count < 0) {
            return s.replace(old, with);
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int i = s.indexOf(old, from);
            if (i < 0) {
                break;
            }
            b.append(s, from, i).append(with);
            from = i + old.length();
        }
        return b.append(s.substring(from)).toString();
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1L;
        }
        long n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
            n++;
        }
        return n;
    }

    private static String join(String sep, Iterable<?> items) {
        StringBuilder b = new StringBuilder();
        boolean first = true;
        for (Object o : items) {
            if (!first) {
                b.append(sep);
            }
            b.append(str(o));
            first = false;
        }
        return b.toString();
    }

    // ---- property access is not ours -------------------------------------------------------------

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: never resolves anything, so the next resolver decides
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
