package io.kvasir.fabric.external;

/**
 * An external engine's failure that another endpoint may not share: a refused or failed request,
 * a dropped connection, a stall. The turn's stream fails with it, and the gateway resumes the turn
 * elsewhere (a {@link io.kvasir.fabric.api.FabricException} would be the request's fault instead).
 */
final class UpstreamError extends RuntimeException {

    UpstreamError(String message) {
        super(message, null, false, false);
    }
}
