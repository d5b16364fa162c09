package io.kvasir.fabric.routing;

/** Routing's answer: a replica and why it was chosen, or none. */
public sealed interface Route {

    /** Why a replica was chosen; a label of the routing-decision metric. */
    enum Reason {
        /** The session's lease: the replica holding its KV. */
        LEASE,
        /** It holds the longest cached prefix of the turn (and is not overloaded). */
        PREFIX,
        /** The least loaded. */
        LOAD,
        /** The next in rotation. */
        ROUND_ROBIN
    }

    record To(String replica, Reason reason) implements Route {}

    record None(String why) implements Route {}
}
