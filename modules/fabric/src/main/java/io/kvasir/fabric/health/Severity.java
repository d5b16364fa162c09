package io.kvasir.fabric.health;

/**
 * How bad a failing check is for routing, in increasing order. A degraded replica takes new turns
 * only while no healthy replica of its model is up; an unhealthy one takes none, and the turns it
 * queued but has not started go elsewhere.
 */
public enum Severity {
    HEALTHY,
    DEGRADED,
    UNHEALTHY;

    public Severity worst(Severity other) {
        return other.ordinal() > ordinal() ? other : this;
    }

    /** The name shown in the admin view and used as a metric label. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
