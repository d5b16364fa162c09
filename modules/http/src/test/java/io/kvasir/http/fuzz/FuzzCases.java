package io.kvasir.http.fuzz;

import io.kvasir.http.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Generates one fuzz request from a {@link Random}: a target (the OpenAI routes, the management
 * routes, anything), a method, headers and a body, each mostly plausible and sometimes hostile
 * (wrong types, deep nesting, huge numbers, invalid UTF-8, truncation, wrong content types,
 * oversized or malformed headers). Plausible enough that most requests get past the parser and
 * into the routes, where the interesting failures are.
 */
final class FuzzCases {

    /** The management token the fuzzed server is configured with. */
    static final String MANAGEMENT_TOKEN = "fuzz-management-token";
    /** {@code user} values the fake fabric answers with a documented refusal (503 / 429). */
    static final String USER_UNAVAILABLE = "fuzz-unavailable";

    static final String USER_OVERLOADED = "fuzz-overloaded";

    /** One request as bytes, and whether to half-close after sending it (the body is cut short). */
    record Case(int port, String description, byte[] bytes, boolean halfClose) {}

    private static final String[] CONTENT_TYPES = {
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=zz",
        "application/octet-stream",
        "application/vnd.x+json",
        "application/json; charset=ebcdic",
        ";;;",
        "application/",
        "*/*",
        "application/json; " + "p=v; ".repeat(300)
    };
    private static final String[] METHODS = {"GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FROB", "get"};

    private final Random r;
    private final FuzzJson json;

    FuzzCases(Random r) {
        this.r = r;
        this.json = new FuzzJson(r);
    }

    Case next(int apiPort, int managementPort) {
        int kind = r.nextInt(100);
        if (kind < 38) {
            return api(apiPort, "/v1/chat/completions", json.chatBody());
        }
        if (kind < 60) {
            return api(apiPort, "/v1/completions", json.completionBody());
        }
        if (kind < 70) {
            String path = pick(
                    "/v1/models",
                    "/v1/models/fake-model",
                    "/v1/models/other%2Fmodel",
                    "/v1/models/" + json.randomText(20),
                    "/v1/models?x=" + json.randomText(10));
            return request(apiPort, r.nextInt(4) == 0 ? "POST" : "GET", path, apiHeaders(), body(""));
        }
        if (kind < 88) {
            return management(managementPort);
        }
        String path = pick(
                "/",
                "/health",
                "/ready",
                "/v1",
                "/v1/",
                "/v2/chat/completions",
                "//v1//models",
                "/v1/chat/completions/extra",
                "/" + json.randomText(30),
                "/v1/" + "a/".repeat(200),
                "*");
        return request(apiPort, r.nextBoolean() ? "GET" : "POST", path, apiHeaders(), body(json.chatBody()));
    }

    // Targets

    private Case api(int port, String path, String json) {
        String method = r.nextInt(20) == 0 ? pick(METHODS) : "POST";
        return request(port, method, path, apiHeaders(), body(json));
    }

    private Case management(int port) {
        String path = pick(
                "/admin/drain",
                "/admin/drain",
                "/admin/models",
                "/admin/sessions/" + json.randomText(8),
                "/metrics",
                "/alive",
                "/ready",
                "/cluster/members",
                "/admin/" + json.randomText(6));
        String method = r.nextInt(3) == 0 ? pick(METHODS) : (path.equals("/admin/drain") ? "POST" : "GET");
        List<String> headers = new ArrayList<>();
        headers.add("Host: "
                + pick(
                        "127.0.0.1",
                        "localhost:" + port,
                        "[::1]",
                        "attacker.example",
                        "127.0.0.1." + "attacker.example",
                        "",
                        "a".repeat(300)));
        switch (r.nextInt(4)) {
            case 0 -> headers.add("Authorization: Bearer " + MANAGEMENT_TOKEN);
            case 1 -> headers.add("Authorization: Bearer " + json.randomText(r.nextInt(80)));
            case 2 -> headers.add("Authorization: " + pick("Basic eDp5", "Bearer", "bearer " + MANAGEMENT_TOKEN));
            default -> {}
        }
        if (r.nextInt(4) == 0) {
            headers.add("Origin: " + pick("null", "https://attacker.example", "http://127.0.0.1", json.randomText(10)));
        }
        if (r.nextBoolean()) {
            headers.add("Content-Type: " + pick(CONTENT_TYPES));
        }
        weirdHeaders(headers);
        String text =
                r.nextBoolean() ? "" : pick("{}", "{\"reason\": \"fuzz\"}", json.value(0), json.deep(r.nextInt(200)));
        return request(port, method, path, headers, body(text));
    }

    // Headers

    private List<String> apiHeaders() {
        List<String> headers = new ArrayList<>();
        if (r.nextInt(20) != 0) {
            headers.add("Host: " + (r.nextInt(10) == 0 ? json.randomText(r.nextInt(50)) : "127.0.0.1"));
        }
        int auth = r.nextInt(20);
        if (auth < 16) {
            headers.add("Authorization: Bearer " + TestServer.API_KEY);
        } else if (auth < 18) {
            headers.add("Authorization: Bearer " + json.randomText(r.nextInt(60)));
        } else if (auth == 18) {
            headers.add("Authorization: " + json.randomText(r.nextInt(60)));
        }
        int type = r.nextInt(10);
        if (type < 7) {
            headers.add("Content-Type: application/json");
        } else if (type < 9) {
            headers.add("Content-Type: " + pick(CONTENT_TYPES));
        }
        if (r.nextInt(5) == 0) {
            headers.add("X-Session-Id: " + headerSafe(json.pick(FuzzJson.WEIRD_STRINGS)));
        }
        if (r.nextInt(8) == 0) {
            headers.add(
                    "X-Kvasir-Workload: " + pick("batch", "interactive", "BATCH", "", "urgent", json.randomText(5)));
        }
        weirdHeaders(headers);
        return headers;
    }

    private void weirdHeaders(List<String> headers) {
        if (r.nextInt(12) != 0) {
            return;
        }
        switch (r.nextInt(9)) {
            case 0 -> headers.add("X-Big: " + "b".repeat(5_000 + r.nextInt(20_000)));
            case 1 -> {
                for (int i = 0; i < 70 + r.nextInt(100); i++) {
                    headers.add("X-Many-" + i + ": v");
                }
            }
            case 2 -> headers.add("Bad Header Name: x");
            case 3 -> headers.add("X-Ctl: a\u0001b");
            case 4 -> headers.add("Expect: 100-continue");
            case 5 -> headers.add("Accept-Encoding: " + pick("gzip", "br", "identity;q=0", json.randomText(20)));
            case 6 -> headers.add("Content-Encoding: " + pick("gzip", "deflate", "br", "x"));
            case 7 -> headers.add(": no name");
            default -> headers.add("Transfer-Encoding: " + pick("gzip", "chunked, gzip", "identity", "x"));
        }
    }

    // Body bytes

    /** The body bytes: usually the JSON as UTF-8, sometimes mutated at the byte level. */
    private byte[] body(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int mutation = r.nextInt(100);
        if (mutation < 70 || bytes.length == 0) {
            return bytes;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (mutation < 78) {
            out.write(bytes, 0, r.nextInt(bytes.length)); // truncated JSON, honestly framed
        } else if (mutation < 88) {
            int at = r.nextInt(bytes.length);
            out.write(bytes, 0, at);
            for (int i = 1 + r.nextInt(4); i > 0; i--) {
                out.write(pickByte(0xC0, 0xC1, 0xED, 0xF5, 0xFF, 0x80, 0xE2, 0xF0, 0x00));
            }
            out.write(bytes, at, bytes.length - at);
        } else if (mutation < 95) {
            byte[] copy = bytes.clone();
            for (int i = 1 + r.nextInt(5); i > 0; i--) {
                copy[r.nextInt(copy.length)] = (byte) r.nextInt(256);
            }
            out.writeBytes(copy);
        } else {
            out.writeBytes(pick(
                    "".getBytes(StandardCharsets.UTF_8),
                    " \n\t".getBytes(StandardCharsets.UTF_8),
                    new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{', '}'},
                    new byte[] {(byte) 0xFE, (byte) 0xFF, 0, '{'}));
        }
        return out.toByteArray();
    }

    // The request itself

    private Case request(int port, String method, String path, List<String> headers, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes((method + " " + path + " HTTP/1.1\r\n").getBytes(StandardCharsets.UTF_8));
        for (String h : headers) {
            out.writeBytes((h + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        out.writeBytes("Connection: close\r\n".getBytes(StandardCharsets.US_ASCII));
        boolean halfClose = false;
        int framing = r.nextInt(100);
        if (framing < 88) {
            out.writeBytes(("Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(body);
        } else if (framing < 94) {
            out.writeBytes("Transfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            int at = 0;
            while (at < body.length) {
                int n = Math.min(body.length - at, 1 + r.nextInt(64));
                out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body, at, n);
                out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
                at += n;
            }
            out.writeBytes((r.nextInt(5) == 0 ? "zz\r\n\r\n" : "0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        } else if (framing < 97) {
            // Declares more than it sends, then closes its side: the body ends early.
            out.writeBytes(("Content-Length: " + (body.length + 1 + r.nextInt(1000)) + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(body);
            halfClose = true;
        } else {
            out.writeBytes(("Content-Length: " + pick("-1", "abc", "1, 2", "99999999999999999999", "") + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(body);
            halfClose = true;
        }
        String description = method + " " + path + " "
                + headers.stream().map(FuzzCases::abbreviate).toList() + " body(" + body.length + "): "
                + abbreviate(new String(body, StandardCharsets.UTF_8));
        return new Case(port, description, out.toByteArray(), halfClose);
    }

    // Helpers

    /** Header values must stay on their line: the fuzzer tests values, not request splitting. */
    private static String headerSafe(String s) {
        return s.replace('\r', ' ').replace('\n', ' ');
    }

    private static String abbreviate(String s) {
        return s.length() <= 160 ? s : s.substring(0, 160) + "...(" + s.length() + ")";
    }

    @SafeVarargs
    private <T> T pick(T... options) {
        return json.pick(options);
    }

    private int pickByte(int... options) {
        return options[r.nextInt(options.length)];
    }
}
