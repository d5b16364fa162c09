package io.kvasir.fabric;

/**
 * Names one model replica: the entity id {@code <model>:<pool>:<index>}. The model id may itself
 * contain colons, so the id is parsed from the right.
 */
public record ReplicaId(String model, String pool, int index) {

    public ReplicaId {
        if (model == null || model.isBlank() || pool == null || pool.isBlank() || index < 0) {
            throw new IllegalArgumentException("bad replica id: " + model + ":" + pool + ":" + index);
        }
    }

    public String entityId() {
        return model + ":" + pool + ":" + index;
    }

    public static ReplicaId parse(String entityId) {
        int last = entityId.lastIndexOf(':');
        int middle = last > 0 ? entityId.lastIndexOf(':', last - 1) : -1;
        if (middle <= 0) {
            throw new IllegalArgumentException("replica id must be <model>:<pool>:<index>, got " + entityId);
        }
        try {
            return new ReplicaId(
                    entityId.substring(0, middle),
                    entityId.substring(middle + 1, last),
                    Integer.parseInt(entityId.substring(last + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("replica index must be a number in " + entityId, e);
        }
    }

    /** The data center every node is in when the cluster has only one (Akka's default name). */
    public static final String DEFAULT_REGION = "default";

    /**
     * A replica's name as the fabric shows and routes it: its entity id, qualified with its region
     * ({@code <entity id>@<region>}) when the cluster has regions, because each region (Akka data
     * center) runs its own replicas under the same entity ids.
     */
    public static String qualified(String entityId, String region) {
        return region == null || region.equals(DEFAULT_REGION) ? entityId : entityId + "@" + region;
    }

    /** The region (Akka data center) of this node; the default region outside a cluster. */
    public static String regionOf(akka.actor.typed.ActorSystem<?> system) {
        var config = system.settings().config();
        return config.getString("akka.actor.provider").equals("cluster")
                ? config.getString("akka.cluster.multi-data-center.self-data-center")
                : DEFAULT_REGION;
    }

    /** The region of a replica {@linkplain #qualified named} so; the default region when unqualified. */
    public static String regionOf(String name) {
        int at = name.lastIndexOf('@');
        return at > name.lastIndexOf(':') && at >= 0 ? name.substring(at + 1) : DEFAULT_REGION;
    }

    /** The entity id within its region of a replica {@linkplain #qualified named} so. */
    public static String entityIdOf(String name) {
        int at = name.lastIndexOf('@');
        return at > name.lastIndexOf(':') && at >= 0 ? name.substring(0, at) : name;
    }

    @Override
    public String toString() {
        return entityId();
    }
}
