package io.kvasir.engine.grammar;

import static io.kvasir.engine.grammar.Automaton.accepts;
import static io.kvasir.engine.grammar.Automaton.feed;
import static io.kvasir.engine.grammar.Automaton.isPrefix;
import static io.kvasir.engine.grammar.Automaton.loose;
import static io.kvasir.engine.grammar.Automaton.strict;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.Period;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** String formats, enforced byte by byte; every value the grammar lets out passes an independent check. */
class SchemaFormatsTest {

    private static Shape format(String name) {
        return strict("{\"type\":\"string\",\"format\":\"" + name + "\"}");
    }

    /** Asserts each value is accepted as a JSON string, and each other one refused. */
    private static void assertStrings(Shape s, String[] good, String[] bad) {
        for (String v : good) {
            assertThat(accepts(s, "\"" + v + "\"")).as("accepts %s", v).isTrue();
        }
        for (String v : bad) {
            assertThat(accepts(s, "\"" + v + "\"")).as("rejects %s", v).isFalse();
        }
    }

    /** Asserts that {@code ok} may be followed, and that the byte after it is refused at once. */
    private static void assertBlockedAt(Shape s, String ok, char next) {
        assertThat(feed(s, "\"" + ok)).as("prefix %s", ok).isNotNull();
        assertThat(feed(s, "\"" + ok + next)).as("%s then %s", ok, next).isNull();
    }

    @Test
    void dates() {
        Shape s = format("date");
        assertStrings(
                s,
                new String[] {
                    "2024-01-31", "2023-04-30", "2024-02-29", "2000-02-29", "1900-02-28", "0000-02-29", "9999-12-31"
                },
                new String[] {
                    "2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-02-30", "2024-13-01", "2024-00-10",
                    "2024-01-00", "2024-01-32", "24-01-01", "2024-1-01", "2024-01-1", "2024/01/01",
                            "2024-01-01T00:00:00Z",
                    "", "2024-01-01 "
                });
        assertBlockedAt(s, "2024-1", '3');
        assertBlockedAt(s, "2024-0", '0');
        assertBlockedAt(s, "2024-04-3", '1');
        assertBlockedAt(s, "2023-02-2", '9');
        assertBlockedAt(s, "2024-02-", '3');
        assertBlockedAt(s, "2024-01-31", '0');
        assertThat(feed(s, "\"2024-02-2").advance('9')).as("a leap year").isNotNull();
        assertThat(feed(s, "\"2024-01-3").advance('"')).as("not yet complete").isNull();
        // months alike share a state: their futures are the same
        assertThat(feed(s, "\"2024-01-")).isEqualTo(feed(s, "\"1999-03-"));
    }

    @Test
    void timesAndDateTimes() {
        Shape time = format("time");
        assertStrings(
                time,
                new String[] {"00:00:00Z", "23:59:59Z", "12:30:00.5+02:00", "08:15:27.123456789-05:30", "10:00:00+14:00"
                },
                new String[] {
                    "24:00:00Z",
                    "12:60:00Z",
                    "12:00:60Z",
                    "12:00:00",
                    "12:00Z",
                    "12:00:00.Z",
                    "12:00:00.1234567890Z",
                    "12:00:00+15:00",
                    "12:00:00+02",
                    "12:00:00z",
                    "1:00:00Z",
                    "12:00:00+0200"
                });
        assertBlockedAt(time, "2", '4');
        assertBlockedAt(time, "12:", '6');
        assertBlockedAt(time, "12:00:00", '"');
        Shape dateTime = format("date-time");
        assertStrings(
                dateTime,
                new String[] {"2024-02-29T23:59:59Z", "1999-12-31T00:00:00.000+01:00", "2025-06-01T12:00:00-07:00"},
                new String[] {
                    "2023-02-29T00:00:00Z",
                    "2024-01-01 00:00:00Z",
                    "2024-01-01t00:00:00Z",
                    "2024-01-01T00:00:00",
                    "2024-01-01",
                    "2024-01-01T25:00:00Z"
                });
        assertBlockedAt(dateTime, "2024-01-01", ' ');
    }

    @Test
    void durations() {
        Shape s = format("duration");
        assertStrings(
                s,
                new String[] {"P1Y", "P3M", "P1Y2M3DT4H5M6S", "PT1H", "PT30M", "PT0S", "P1D", "P2W", "P1DT12H", "P1Y6M"
                },
                new String[] {
                    "P",
                    "PT",
                    "P1YT",
                    "P1W2D",
                    "P1H",
                    "PT1Y",
                    "P1.5Y",
                    "PT1.5S",
                    "1Y",
                    "P1M1Y",
                    "-P1D",
                    "p1d",
                    "P1234567890D"
                });
        assertBlockedAt(s, "P", '"');
        assertBlockedAt(s, "P1D", 'Y');
        assertBlockedAt(s, "PT", '"');
        assertBlockedAt(s, "P2W", '1');
    }

    @Test
    void uuids() {
        Shape s = format("uuid");
        assertStrings(
                s,
                new String[] {"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"},
                new String[] {
                    "123E4567-E89B-12D3-A456-426614174000", "123e4567e89b12d3a456426614174000",
                    "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
                    "urn:uuid:123e4567-e89b-12d3-a456-426614174000", "{123e4567-e89b-12d3-a456-426614174000}"
                });
        assertBlockedAt(s, "123e456", 'G');
        assertBlockedAt(s, "123e4567", 'e');
    }

    @Test
    void ipAddresses() {
        Shape v4 = format("ipv4");
        assertStrings(
                v4,
                new String[] {"0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.199.249", "192.168.1.100"},
                new String[] {
                    "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1.2.3.", "1..2.3", "::1", "1.2.3.4 "
                });
        assertBlockedAt(v4, "25", '6');
        assertBlockedAt(v4, "0", '1');
        assertBlockedAt(v4, "1.2.3.4", '.');
        Shape v6 = format("ipv6");
        assertStrings(
                v6,
                new String[] {
                    "::",
                    "::1",
                    "1::",
                    "2001:db8::8a2e:370:7334",
                    "2001:0db8:0000:0000:0000:ff00:0042:8329",
                    "fe80::1:2:3:4:5:6",
                    "1:2:3:4:5:6:7::",
                    "::2:3:4:5:6:7:8"
                },
                new String[] {
                    "1:2:3:4:5:6:7",
                    "1:2:3:4:5:6:7:8:9",
                    "1::2::3",
                    "2001:DB8::1",
                    "12345::",
                    ":::",
                    "1:2:3:4:5:6:7::8",
                    "::ffff:192.0.2.1",
                    "fe80::1%eth0",
                    ":1",
                    "1:"
                });
        assertBlockedAt(v6, "1:2:3:4:5:6:7:8", ':');
        assertBlockedAt(v6, "1::2:", ':');
        assertBlockedAt(v6, "abcd", 'e');
    }

    @Test
    void emailsAndHostnames() {
        Shape email = format("email");
        assertStrings(
                email,
                new String[] {
                    "a@b.co",
                    "john.doe+tag@example.com",
                    "x_y-z@mail.example-site.org",
                    "1@2a.io",
                    "a@" + "b".repeat(63) + ".com"
                },
                new String[] {
                    "@example.com",
                    "a@example",
                    "a@.com",
                    ".a@b.co",
                    "a.@b.co",
                    "a..b@c.co",
                    "a@b-.co",
                    "a@-b.co",
                    "a@b.c",
                    "a@b.c0",
                    "A@b.co",
                    "a b@c.co",
                    "a@b..co",
                    "a@" + "b".repeat(64) + ".com",
                    "x".repeat(65) + "@b.co",
                    "a@b.co.",
                    "a@b@c.co"
                });
        assertBlockedAt(email, "", '.');
        assertBlockedAt(email, "a@", '-');
        assertBlockedAt(email, "a@b", '@');
        assertBlockedAt(email, "x".repeat(64), 'x');
        Shape host = format("hostname");
        assertStrings(
                host,
                new String[] {
                    "localhost", "example.com", "a-b.c-d.e", "xn--bcher-kva.example", "1.2.3.4", "b".repeat(63)
                },
                new String[] {
                    "",
                    "-a.com",
                    "a-.com",
                    "a..com",
                    ".a",
                    "a.",
                    "a_b.com",
                    "Example.com",
                    "b".repeat(64),
                    ("a".repeat(63) + ".").repeat(4) + "a"
                });
        // 253 characters at most: four labels of 63 and one of 1 is 256
        String longest = ("a".repeat(63) + ".").repeat(3) + "a".repeat(61);
        assertThat(longest).hasSize(253);
        assertThat(accepts(host, "\"" + longest + "\"")).isTrue();
        assertBlockedAt(host, longest, 'a');
    }

    /** Every two-digit month and day of years that test the leap rule, and Feb 29 of every year. */
    @Test
    void datesAgreeWithJavaTimeExhaustively() {
        ByteDfa date = Formats.dfa("date", 0, -1);
        for (String year :
                new String[] {"0000", "0004", "0100", "0400", "1900", "1996", "2000", "2023", "2024", "2100"}) {
            for (int month = 0; month < 100; month++) {
                for (int day = 0; day < 100; day++) {
                    String v = String.format("%s-%02d-%02d", year, month, day);
                    assertThat(date.matches(v))
                            .as(v)
                            .isEqualTo(CHECKS.get("date").test(v));
                }
            }
        }
        for (int year = 0; year < 10_000; year++) {
            String v = String.format("%04d-02-29", year);
            assertThat(date.matches(v)).as(v).isEqualTo(CHECKS.get("date").test(v));
        }
        ByteDfa time = Formats.dfa("time", 0, -1);
        for (int hour = 0; hour < 100; hour++) {
            for (int minute = 0; minute < 100; minute++) {
                String v = String.format("%02d:%02d:%02dZ", hour, minute, (hour + minute) % 100);
                assertThat(time.matches(v)).as(v).isEqualTo(CHECKS.get("time").test(v));
            }
        }
        ByteDfa ipv4 = Formats.dfa("ipv4", 0, -1);
        for (int n = 0; n < 1000; n++) {
            for (String octet : new String[] {"" + n, String.format("%02d", n), String.format("%03d", n)}) {
                String v = "1." + octet + ".2.3";
                assertThat(ipv4.matches(v)).as(v).isEqualTo(CHECKS.get("ipv4").test(v));
            }
        }
    }

    @Test
    void unknownFormatsAreRefusedInStrictAndIgnoredOtherwise() {
        for (String f : new String[] {"\"iri\"", "\"int32\"", "\"Date\"", "3"}) {
            String schema = "{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\",\"format\":" + f + "}},"
                    + "\"required\":[\"x\"],\"additionalProperties\":false}";
            assertThatThrownBy(() -> strict(schema))
                    .as(f)
                    .isInstanceOf(SchemaException.class)
                    .hasMessageContaining("unsupported format " + f + " at #/properties/x")
                    .hasMessageContaining("date-time, date, time, duration, email, hostname, ipv4, ipv6, uuid");
            assertThat(accepts(loose(schema), "{\"x\":\"anything\"}")).as(f).isTrue();
        }
        // a known format is enforced without strict too
        assertThat(accepts(loose("{\"type\":\"string\",\"format\":\"uuid\"}"), "\"anything\""))
                .isFalse();
        // and applies to strings only, as in JSON Schema
        assertThat(accepts(strict("{\"type\":[\"integer\",\"string\"],\"format\":\"date\"}"), "7"))
                .isTrue();
        assertThat(accepts(strict("{\"format\":\"ipv4\"}"), "\"1.2.3.4\"")).isTrue();
        assertThat(accepts(strict("{\"format\":\"ipv4\"}"), "\"x\"")).isFalse();
        // beside an anyOf it would not be enforced
        assertThatThrownBy(() -> strict("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"format\":\"date\"}"))
                .hasMessageContaining("'format' beside 'anyOf'");
    }

    @Test
    void pydanticAndZodSchemas() {
        // pydantic: Optional[datetime], UUID, EmailStr; zod: z.string().email().max(20)
        String schema = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"at\",\"id\",\"mail\"],"
                + "\"properties\":{\"at\":{\"anyOf\":[{\"type\":\"string\",\"format\":\"date-time\"},{\"type\":\"null\"}]},"
                + "\"id\":{\"type\":\"string\",\"format\":\"uuid\"},"
                + "\"mail\":{\"type\":\"string\",\"format\":\"email\",\"maxLength\":20}}}";
        Shape s = strict(schema);
        assertThat(accepts(s, "{\"at\":null,\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"mail\":\"a@b.co\"}"))
                .isTrue();
        assertThat(accepts(
                        s,
                        "{\"at\":\"2024-05-01T10:00:00Z\",\"id\":\"123e4567-e89b-12d3-a456-426614174000\","
                                + "\"mail\":\"abcdefghijklmn@b.co\"}"))
                .isTrue();
        assertThat(isPrefix(
                        s, "{\"at\":null,\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"mail\":\"abcdefghijklmnop@"))
                .as("two letters left: no room for a domain")
                .isFalse();
    }

    @Test
    void lengthsAndFormatsTogether() {
        Shape s = strict("{\"type\":\"string\",\"format\":\"email\",\"minLength\":8,\"maxLength\":10}");
        assertStrings(s, new String[] {"ab@cd.com", "a@bcd.com", "abcd@e.io"}, new String[] {"a@b.co", "abcdef@g.com"});
        assertBlockedAt(s, "abcde", 'f'); // abcdef@x.yy is 11
        assertBlockedAt(s, "ab@cdef", 'g');
        Shape d = strict("{\"type\":\"string\",\"format\":\"date\",\"maxLength\":10}");
        assertStrings(d, new String[] {"2024-01-01"}, new String[] {});
        for (String bad : new String[] {
            "{\"type\":\"string\",\"format\":\"date\",\"maxLength\":9}",
            "{\"type\":\"string\",\"format\":\"uuid\",\"minLength\":37}",
            "{\"type\":\"string\",\"format\":\"email\",\"maxLength\":5}"
        }) {
            assertThatThrownBy(() -> strict(bad)).as(bad).hasMessageContaining("no string of format");
            assertThatThrownBy(() -> loose(bad)).as(bad).isInstanceOf(SchemaException.class);
        }
        // a time is 9 to 23 characters long, as its fraction and zone go
        Shape t = strict("{\"type\":\"string\",\"format\":\"time\",\"minLength\":11,\"maxLength\":12}");
        assertStrings(t, new String[] {"12:00:00.12Z", "12:00:00.1Z"}, new String[] {"12:00:00Z", "12:00:00+01:00"});
    }

    @Test
    void enumValuesOutsideTheFormatAreLeftOut() {
        Shape s = strict("{\"type\":\"string\",\"format\":\"date\",\"enum\":[\"2024-01-01\",\"soon\",\"2023-02-29\"]}");
        assertStrings(s, new String[] {"2024-01-01"}, new String[] {"soon", "2023-02-29"});
        assertThatThrownBy(() -> strict("{\"type\":\"string\",\"format\":\"uuid\",\"const\":\"x\"}"))
                .hasMessageContaining("'const'");
    }

    private static final String LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
    private static final Pattern EMAIL =
            Pattern.compile("[a-z0-9_+-]+(?:\\.[a-z0-9_+-]+)*@(?:" + LABEL + "\\.)+[a-z]{2,24}");
    private static final Pattern HOSTNAME = Pattern.compile(LABEL + "(?:\\." + LABEL + ")*");

    /** Independent checks: java.time, java.util.UUID, regular expressions and arithmetic. */
    private static final Map<String, Predicate<String>> CHECKS = Map.of(
            "date",
            v -> v.matches("\\d{4}-\\d{2}-\\d{2}") && parses(() -> LocalDate.parse(v)),
            "time",
            v -> v.matches("\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})") && parses(() -> OffsetTime.parse(v)),
            "date-time",
            v -> v.matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})")
                    && parses(() -> OffsetDateTime.parse(v)),
            "duration",
            SchemaFormatsTest::isDuration,
            "uuid",
            v -> parses(() -> UUID.fromString(v))
                    && UUID.fromString(v).toString().equals(v),
            "ipv4",
            SchemaFormatsTest::isIpv4,
            "ipv6",
            SchemaFormatsTest::isIpv6,
            "email",
            v -> v.length() <= 254 && v.indexOf('@') <= 64 && EMAIL.matcher(v).matches(),
            "hostname",
            v -> v.length() <= 253 && HOSTNAME.matcher(v).matches());

    /** Whether {@code value} is of {@code format}, by the checks here, independent of the automaton. */
    static boolean check(String format, String value) {
        return CHECKS.get(format).test(value);
    }

    private static boolean parses(Runnable parse) {
        try {
            parse.run();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** ISO 8601 as java.time reads it: the date part as a Period, the time part as a Duration. */
    private static boolean isDuration(String v) {
        if (v.matches("P\\d+W")) {
            // java.time holds weeks as days in an int, which nine digits of weeks overflow
            return v.length() <= 11;
        }
        if (v.contains("W") || !v.startsWith("P") || v.equals("P")) {
            return false;
        }
        int t = v.indexOf('T');
        String date = t < 0 ? v : v.substring(0, t);
        if (!date.equals("P") && !parses(() -> Period.parse(date))) {
            return false;
        }
        return t < 0 || parses(() -> Duration.parse("PT" + v.substring(t + 1)));
    }

    private static boolean isIpv4(String v) {
        String[] octets = v.split("\\.", -1);
        if (octets.length != 4) {
            return false;
        }
        for (String o : octets) {
            if (!o.matches("0|[1-9][0-9]{0,2}") || Integer.parseInt(o) > 255) {
                return false;
            }
        }
        return true;
    }

    private static boolean isIpv6(String v) {
        int gap = v.indexOf("::");
        if (gap != v.lastIndexOf("::")) {
            return false;
        }
        if (gap < 0) {
            return groups(v) == 8;
        }
        int left = groups(v.substring(0, gap));
        int right = groups(v.substring(gap + 2));
        return left >= 0 && right >= 0 && left + right <= 7;
    }

    /** The number of ':'-separated groups of 1 to 4 lowercase hex digits, 0 for "", -1 if malformed. */
    private static int groups(String s) {
        if (s.isEmpty()) {
            return 0;
        }
        String[] g = s.split(":", -1);
        for (String x : g) {
            if (!x.matches("[0-9a-f]{1,4}")) {
                return -1;
            }
        }
        return g.length;
    }

    @Test
    void theIndependentChecksAgreeWithTheExamples() {
        assertThat(CHECKS.get("date").test("2023-02-29")).isFalse();
        assertThat(CHECKS.get("date").test("2024-02-29")).isTrue();
        assertThat(CHECKS.get("duration").test("PT")).isFalse();
        assertThat(CHECKS.get("duration").test("P1Y2M3DT4H5M6S")).isTrue();
        assertThat(CHECKS.get("uuid").test("123E4567-E89B-12D3-A456-426614174000"))
                .isFalse();
        assertThat(CHECKS.get("ipv6").test("1::2::3")).isFalse();
        assertThat(CHECKS.get("ipv6").test("::")).isTrue();
        assertThat(CHECKS.get("time").test("12:00:00")).isFalse();
    }

    @Test
    void randomWalksThroughEachFormatGiveValuesTheChecksAccept() {
        SplittableRandom random = new SplittableRandom(20_260_101L);
        for (String name : Formats.SUPPORTED) {
            Shape s = format(name);
            Predicate<String> check = CHECKS.get(name);
            for (int walk = 0; walk < 400; walk++) {
                String text = walk(s, random);
                String value =
                        Schemas.assertValid(text, "{\"type\":\"string\"}").textValue();
                assertThat(check.test(value)).as("%s: %s", name, value).isTrue();
            }
        }
    }

    @Test
    void randomWalksWithLengthsKeepBoth() {
        SplittableRandom random = new SplittableRandom(99L);
        String[][] cases = {{"email", "6", "12"}, {"hostname", "3", "9"}, {"time", "12", "14"}, {"ipv6", "5", "7"}};
        for (String[] c : cases) {
            String schema = "{\"type\":\"string\",\"format\":\"" + c[0] + "\",\"minLength\":" + c[1] + ",\"maxLength\":"
                    + c[2] + "}";
            Shape s = strict(schema);
            for (int walk = 0; walk < 300; walk++) {
                String value = Schemas.assertValid(walk(s, random), schema).textValue();
                assertThat(CHECKS.get(c[0]).test(value))
                        .as("%s: %s", c[0], value)
                        .isTrue();
                assertThat(value.length()).as(value).isBetween(Integer.parseInt(c[1]), Integer.parseInt(c[2]));
            }
        }
    }

    /** Picks random allowed bytes until the string is closed; the mask must never run dry before. */
    private static String walk(Shape shape, SplittableRandom random) {
        JsonState s = JsonState.start(shape).advance('"');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('"');
        while (!s.complete()) {
            int[] allowed = new int[256];
            int n = 0;
            for (int b = 0; b < 256; b++) {
                if (s.advance(b) != null) {
                    allowed[n++] = b;
                }
            }
            assertThat(n).as("bytes allowed after %s", out).isPositive();
            int b = allowed[random.nextInt(n)];
            out.write(b);
            s = s.advance(b);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static boolean isPrefix(Shape root, String text) {
        return feed(root, text) != null;
    }
}
