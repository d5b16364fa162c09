package io.kvasir.engine.grammar;

import static io.kvasir.engine.grammar.BytePattern.alt;
import static io.kvasir.engine.grammar.BytePattern.cls;
import static io.kvasir.engine.grammar.BytePattern.length;
import static io.kvasir.engine.grammar.BytePattern.lit;
import static io.kvasir.engine.grammar.BytePattern.opt;
import static io.kvasir.engine.grammar.BytePattern.rep;
import static io.kvasir.engine.grammar.BytePattern.seq;

import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The string {@code format}s the grammar enforces, those of OpenAI's strict Structured Outputs. Each
 * is a canonical subset of what a JSON Schema validator accepts (ajv-formats in "full" mode): one
 * spelling where the standard allows several (lowercase hex, 'T' and 'Z' in capitals, no leading
 * zeros in an IPv4 octet), so what the grammar lets through passes ajv and stricter parsers such
 * as java.time alike, while ordinary values, as a model writes them, fit.
 *
 * <ul>
 *   <li>{@code date}: YYYY-MM-DD, the day within its month, February 29 only in leap years;
 *   <li>{@code time}: HH:MM:SS, an optional fraction of 1 to 9 digits, then {@code Z} or an offset
 *       ±HH:MM of at most 14 hours (a time without a zone is not a full-format time);
 *   <li>{@code date-time}: a date, {@code T}, a time; no leap seconds;
 *   <li>{@code duration}: ISO 8601 PnYnMnDTnHnMnS with at least one part, each of 1 to 9 digits, a
 *       T only before a time part; or PnW;
 *   <li>{@code uuid}: 8-4-4-4-12 lowercase hex digits;
 *   <li>{@code ipv4}: a dotted quad of 0 to 255, without leading zeros;
 *   <li>{@code ipv6}: eight groups of 1 to 4 lowercase hex digits, or fewer around one {@code ::};
 *       no embedded IPv4, no zone;
 *   <li>{@code hostname}: labels of 1 to 63 of a-z, 0-9 and '-', not beginning or ending with '-',
 *       joined by dots, 253 characters at most, no trailing dot;
 *   <li>{@code email}: a local part of 1 to 64 of a-z, 0-9, '.', '_', '+', '-' without a leading,
 *       trailing or doubled dot; '@'; hostname labels and a final label of 2 to 24 letters (at least
 *       one dot); 254 characters at most, the longest address SMTP carries.
 * </ul>
 *
 * <p>Every format is ASCII that JSON writes as itself, one byte a character: the format's automaton
 * reads the string's bytes directly, and minLength and maxLength, counted in characters, count its
 * bytes. Every format is also at most 254 characters long, which bounds the counter.
 */
final class Formats {

    /** The supported formats, as messages list them. */
    static final List<String> SUPPORTED =
            List.of("date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uuid");

    /** Longer than any string of any format: lengths past it bound nothing. */
    private static final int LONGEST = 256;

    /** What a format may hold: printable ASCII other than the quote and the backslash JSON escapes. */
    private static final BitSet PLAIN_ASCII = plainAscii();

    /** Automata by (format, minLength, maxLength): built once, shared by every schema using them. */
    private static final Map<Key, Optional<ByteDfa>> CACHE = new HashMap<>();

    /**
     * The states the cache may hold, a few megabytes: an email's automaton has tens of thousands,
     * and schemas with ever new lengths must not grow the cache without end.
     */
    private static final int MAX_CACHED_STATES = 1 << 19;

    private static int cachedStates;

    private record Key(String format, int min, int max) {}

    private Formats() {}

    static boolean supported(String format) {
        return SUPPORTED.contains(format);
    }

    /**
     * The automaton of {@code format} (a supported one) cut to strings of min..max characters (max
     * -1: unbounded), or null when no string of the format has such a length.
     */
    static ByteDfa dfa(String format, int min, int max) {
        int lo = Math.min(min, LONGEST);
        int hi = max < 0 || max > LONGEST ? -1 : max;
        Key key = new Key(format, lo, hi);
        synchronized (CACHE) {
            Optional<ByteDfa> done = CACHE.get(key);
            if (done != null) {
                return done.orElse(null);
            }
        }
        BytePattern p = pattern(format);
        ByteDfa d = ByteDfa.of(lo == 0 && hi < 0 ? p : length(p, lo, hi));
        if (d != null && !PLAIN_ASCII.equals(or(d.alphabet(), PLAIN_ASCII))) {
            throw new IllegalStateException("format " + format + " reads bytes JSON would escape");
        }
        int states = d == null ? 1 : d.states();
        synchronized (CACHE) {
            if (cachedStates + states > MAX_CACHED_STATES) {
                CACHE.clear(); // start over rather than grow
                cachedStates = 0;
            }
            if (CACHE.putIfAbsent(key, Optional.ofNullable(d)) == null) {
                cachedStates += states;
            }
            return CACHE.get(key).orElse(null);
        }
    }

    static BytePattern pattern(String format) {
        return switch (format) {
            case "date" -> date();
            case "time" -> time();
            case "date-time" -> seq(date(), lit("T"), time());
            case "duration" -> duration();
            case "uuid" -> uuid();
            case "ipv4" -> ipv4();
            case "ipv6" -> ipv6();
            case "hostname" -> length(dotted(label()), 1, 253);
            case "email" -> email();
            default -> throw new IllegalArgumentException("unsupported format " + format);
        };
    }

    private static final BytePattern DIGIT = cls("0-9");
    private static final BytePattern HEX = cls("0-9a-f");

    /**
     * The day's range depends on the month, and February 29 on the year: all of it regular, spelled
     * out as alternatives that the automaton merges. A year is a leap year when its last two digits
     * are a non-zero multiple of 4, or they are 00 and the first two a multiple of 4 (2000, not 1900).
     */
    private static BytePattern date() {
        BytePattern year = rep(DIGIT, 4, 4);
        BytePattern multipleOf4 = alt(seq(cls("02468"), cls("048")), seq(cls("13579"), cls("26")));
        BytePattern leapYear = alt(
                seq(
                        DIGIT,
                        DIGIT,
                        alt(seq(lit("0"), cls("48")), seq(cls("2468"), cls("048")), seq(cls("13579"), cls("26")))),
                seq(multipleOf4, lit("00")));
        BytePattern upTo28 = alt(seq(lit("0"), cls("1-9")), seq(lit("1"), DIGIT), seq(lit("2"), cls("0-8")));
        BytePattern upTo30 = alt(upTo28, lit("29"), lit("30"));
        BytePattern upTo31 = alt(upTo30, lit("31"));
        return alt(
                seq(year, lit("-"), alt(seq(lit("0"), cls("13578")), seq(lit("1"), cls("02"))), lit("-"), upTo31),
                seq(year, lit("-"), alt(seq(lit("0"), cls("469")), lit("11")), lit("-"), upTo30),
                seq(year, lit("-02-"), upTo28),
                seq(leapYear, lit("-02-29")));
    }

    private static BytePattern time() {
        BytePattern hour = alt(seq(cls("01"), DIGIT), seq(lit("2"), cls("0-3")));
        BytePattern sixty = seq(cls("0-5"), DIGIT);
        BytePattern fraction = opt(seq(lit("."), rep(DIGIT, 1, 9)));
        // Offsets in use run from -12:00 to +14:00; java.time and others refuse past 18 hours.
        BytePattern offset =
                alt(lit("Z"), seq(cls("+-"), alt(seq(lit("0"), DIGIT), seq(lit("1"), cls("0-4"))), lit(":"), sixty));
        return seq(hour, lit(":"), sixty, lit(":"), sixty, fraction, offset);
    }

    private static BytePattern duration() {
        BytePattern date = oneOrMore(part("Y"), part("M"), part("D"));
        BytePattern time = seq(lit("T"), oneOrMore(part("H"), part("M"), part("S")));
        return seq(lit("P"), alt(seq(date, opt(time)), time, part("W")));
    }

    /** A number of 1 to 9 digits and its unit. */
    private static BytePattern part(String unit) {
        return seq(rep(DIGIT, 1, 9), lit(unit));
    }

    /** At least one of a, b, c, in that order. */
    private static BytePattern oneOrMore(BytePattern a, BytePattern b, BytePattern c) {
        return alt(seq(a, opt(b), opt(c)), seq(b, opt(c)), c);
    }

    private static BytePattern uuid() {
        return seq(
                rep(HEX, 8, 8),
                lit("-"),
                rep(HEX, 4, 4),
                lit("-"),
                rep(HEX, 4, 4),
                lit("-"),
                rep(HEX, 4, 4),
                lit("-"),
                rep(HEX, 12, 12));
    }

    private static BytePattern ipv4() {
        BytePattern octet = alt(
                seq(lit("25"), cls("0-5")),
                seq(lit("2"), cls("0-4"), DIGIT),
                seq(lit("1"), DIGIT, DIGIT),
                seq(cls("1-9"), DIGIT),
                DIGIT);
        return seq(octet, rep(seq(lit("."), octet), 3, 3));
    }

    /** Eight groups, or k groups, {@code ::} standing for at least one zero group, and m more. */
    private static BytePattern ipv6() {
        BytePattern[] forms = new BytePattern[1 + 36];
        forms[0] = groups(8);
        int i = 1;
        for (int k = 0; k <= 7; k++) {
            for (int m = 0; k + m <= 7; m++) {
                forms[i++] = seq(groups(k), lit("::"), groups(m));
            }
        }
        return alt(forms);
    }

    /** n hex groups joined by ':' (none: the empty string). */
    private static BytePattern groups(int n) {
        BytePattern group = rep(HEX, 1, 4);
        return n == 0 ? seq() : seq(group, rep(seq(lit(":"), group), n - 1, n - 1));
    }

    /** A DNS label: 1 to 63 characters, a letter or digit at each end. */
    private static BytePattern label() {
        BytePattern alnum = cls("a-z0-9");
        return seq(alnum, opt(seq(rep(cls("a-z0-9-"), 0, 61), alnum)));
    }

    /** One or more of {@code part}, joined by dots. */
    private static BytePattern dotted(BytePattern part) {
        return seq(part, rep(seq(lit("."), part), 0, -1));
    }

    private static BytePattern email() {
        BytePattern local = length(dotted(rep(cls("a-z0-9_+-"), 1, -1)), 1, 64);
        BytePattern domain = seq(rep(seq(label(), lit(".")), 1, -1), rep(cls("a-z"), 2, 24));
        return length(seq(local, lit("@"), domain), 1, 254);
    }

    private static BitSet plainAscii() {
        BitSet s = new BitSet(256);
        s.set(0x20, 0x7F);
        s.clear('"');
        s.clear('\\');
        return s;
    }

    private static BitSet or(BitSet a, BitSet b) {
        BitSet c = (BitSet) a.clone();
        c.or(b);
        return c;
    }
}
