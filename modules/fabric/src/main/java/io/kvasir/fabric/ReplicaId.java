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

    @Override
    public String toString() {
        return entityId();
    }
}
