package io.kvasir.server;

/**
 * A {@code host:port} the user typed for a peer (a seed node, a contact point), checked as it is
 * parsed so that a typo is named with the form expected, not found later by Akka with no message.
 */
record HostPort(String host, int port) {

    /**
     * @param what    the flag or key the value came from, for the message
     * @param example the form expected, e.g. {@code host:remote-port, e.g. 127.0.0.1:25520}
     */
    static HostPort parse(String value, String what, String example) {
        String v = value.strip();
        int colon = v.lastIndexOf(':');
        String host = colon > 0 ? v.substring(0, colon) : "";
        // An IPv6 host needs brackets, or its last group would be read as the port.
        boolean hostOk = !host.isEmpty()
                && host.chars().noneMatch(ch -> ch == '/' || ch == '@' || Character.isWhitespace(ch))
                && (!host.contains(":") || (host.startsWith("[") && host.endsWith("]")));
        if (!hostOk) {
            throw new IllegalArgumentException(what + " '" + value + "' is not " + example);
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + value + "' has no numeric port; expected " + example);
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException(
                    what + " '" + value + "': port " + port + " is not in 1-65535; expected " + example);
        }
        return new HostPort(host, port);
    }

    /** The Akka address of a node of Kvasir's actor system at this host and port. */
    String akkaAddress() {
        return "akka://kvasir@" + host + ":" + port;
    }
}
