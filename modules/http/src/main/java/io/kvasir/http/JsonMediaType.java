package io.kvasir.http;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.MediaType;
import java.util.Locale;

/**
 * Whether a request body is declared as JSON: {@code application/json} or any
 * {@code application/...+json}, with whatever parameters. Routes that read JSON refuse everything
 * else, in particular the types a browser may post cross-site without asking first (text/plain,
 * form-urlencoded, multipart/form-data) and no type at all (a body posted as a Blob).
 */
public final class JsonMediaType {

    private JsonMediaType() {}

    public static boolean isJson(ContentType type) {
        MediaType media = type.mediaType();
        String sub = media.subType().toLowerCase(Locale.ROOT);
        return media.mainType().equalsIgnoreCase("application") && (sub.equals("json") || sub.endsWith("+json"));
    }

    /** How the content type reads in an error message; akka-http reports a missing one as octet-stream. */
    public static String describe(ContentType type) {
        return type.mediaType().toString();
    }
}
