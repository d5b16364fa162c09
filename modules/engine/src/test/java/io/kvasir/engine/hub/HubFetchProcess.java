package io.kvasir.engine.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/** A separate process that fetches one reference: args ENDPOINT CACHE REFERENCE; prints the path. */
public final class HubFetchProcess {

    private HubFetchProcess() {}

    public static void main(String[] args) {
        HubSettings settings = new HubSettings(URI.create(args[0]), Optional.empty(), Path.of(args[1]), false);
        try {
            Path p = new HubResolver(settings, System.err, false).resolve(HubReference.parse(args[2]));
            System.out.println("PATH " + p);
        } catch (HubException e) {
            System.out.println("ERROR " + e.getMessage());
            System.exit(1);
        }
    }
}
