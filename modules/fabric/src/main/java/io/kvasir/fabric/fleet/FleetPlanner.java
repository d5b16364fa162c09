package io.kvasir.fabric.fleet;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The fleet's placement decisions, as a function of what the manager knows (no actors, no clocks:
 * the unit tests drive it directly). Given each node's budget and which replicas it holds, and how
 * many replicas each model should have, it says which replica to load where and which to retire.
 *
 * <p>A replica is placed on the node with the most memory free that can hold it (a node where the
 * model's GGUF is missing or unreadable is never chosen). When no node has room, the least
 * recently used model above its {@code min-replicas} gives up a replica on the node where doing so
 * makes room (when that replica has only just loaded, the planner waits for it rather than take
 * a more recently used one), and the new one loads once that replica has drained and gone; memory of retiring
 * replicas counts as taken until then, so nothing is ever over-committed.
 */
public final class FleetPlanner {

    /** A replica a node holds: loading, up, or retiring (draining before it stops). */
    public record Replica(String entityId, String model, String node, boolean retiring, boolean evictable) {}

    /**
     * A node as the planner sees it.
     *
     * @param footprints bytes a replica of each model takes here (a model missing: cannot load here)
     */
    public record Node(String address, long budget, Map<String, Long> footprints) {}

    /**
     * A model's wishes.
     *
     * @param target   replicas it should have now (its min, raised by demand and queueing)
     * @param min      replicas never retired for memory
     * @param lastUsed when it last had work or demand (larger is more recent)
     */
    public record Model(String id, int target, int min, long lastUsed) {}

    public sealed interface Action permits Load, Retire, Unplaceable {}

    /** Load a replica of {@code model} on {@code node} (the manager picks its entity id). */
    public record Load(String model, String node) implements Action {}

    /** Drain and stop {@code replica} on {@code node}. */
    public record Retire(String entityId, String node, String why) implements Action {}

    /** {@code model} cannot get the replica it needs, and why (shown in the admin view). */
    public record Unplaceable(String model, String why) implements Action {}

    private FleetPlanner() {}

    public static List<Action> plan(List<Node> nodes, List<Replica> replicas, List<Model> models) {
        List<Action> actions = new ArrayList<>();
        Map<String, Long> used = new HashMap<>();
        Map<String, Long> draining = new HashMap<>();
        Map<String, Node> byAddress = new LinkedHashMap<>();
        nodes.forEach(n -> byAddress.put(n.address(), n));
        List<Replica> live = new ArrayList<>(replicas);
        for (Replica r : replicas) {
            long bytes = footprint(byAddress.get(r.node()), r.model());
            used.merge(r.node(), bytes, Long::sum);
            if (r.retiring()) {
                draining.merge(r.node(), bytes, Long::sum);
            }
        }
        Map<String, Model> byId = new HashMap<>();
        models.forEach(m -> byId.put(m.id(), m));
        // Most recently used first: under pressure, what was used last gets memory first.
        List<Model> order = new ArrayList<>(models);
        order.sort(Comparator.comparingLong(Model::lastUsed).reversed());
        for (Model model : order) {
            long have = live.stream()
                    .filter(r -> r.model().equals(model.id()) && !r.retiring())
                    .count();
            if (have > model.target()) {
                // Scaled down: the replica loaded last goes (it has the least cache warmed).
                live.stream()
                        .filter(r -> r.model().equals(model.id()) && !r.retiring())
                        .reduce((a, b) -> b)
                        .ifPresent(r ->
                                actions.add(new Retire(r.entityId(), r.node(), "scaled down to " + model.target())));
                continue;
            }
            for (long i = have; i < model.target(); i++) {
                Optional<Action> step = place(model, byAddress, used, draining, live, byId);
                if (step.isEmpty()) {
                    break; // waiting for memory that retiring replicas will free
                }
                actions.add(step.get());
                if (!(step.get() instanceof Load load)) {
                    break;
                }
                long bytes = footprint(byAddress.get(load.node()), model.id());
                used.merge(load.node(), bytes, Long::sum);
                live.add(new Replica("(new)", model.id(), load.node(), false, false));
            }
        }
        return actions;
    }

    private static Optional<Action> place(
            Model model,
            Map<String, Node> nodes,
            Map<String, Long> used,
            Map<String, Long> draining,
            List<Replica> live,
            Map<String, Model> models) {
        List<Node> able = nodes.values().stream()
                .filter(n -> n.footprints().containsKey(model.id()))
                .toList();
        if (able.isEmpty()) {
            return Optional.of(new Unplaceable(
                    model.id(),
                    nodes.isEmpty()
                            ? "no decode node has reported yet"
                            : "no decode node can load it (see each node's error)"));
        }
        long largest = able.stream().mapToLong(n -> n.budget() - 0).max().orElse(0);
        long need = able.stream()
                .mapToLong(n -> n.footprints().get(model.id()))
                .min()
                .orElse(0);
        if (need > largest) {
            return Optional.of(new Unplaceable(
                    model.id(),
                    "a replica needs " + MemoryEstimate.human(need) + " but the largest node budget is "
                            + MemoryEstimate.human(largest)));
        }
        Optional<Node> roomy = able.stream()
                .filter(n -> free(n, used) >= n.footprints().get(model.id()))
                .max(Comparator.comparingLong((Node n) -> free(n, used))
                        .thenComparing(n -> -count(live, model.id(), n.address())));
        if (roomy.isPresent()) {
            return Optional.of(new Load(model.id(), roomy.get().address()));
        }
        // Memory that replicas already draining will free is spoken for: wait for it.
        for (Node n : able) {
            if (free(n, used) + draining.getOrDefault(n.address(), 0L)
                    >= n.footprints().get(model.id())) {
                return Optional.empty();
            }
        }
        // Evict: the least recently used models above their minimum, older than this one's use.
        List<Replica> victims = live.stream()
                .filter(r -> !r.retiring() && !r.model().equals(model.id()))
                .filter(r -> {
                    Model owner = models.get(r.model());
                    return owner != null
                            && owner.lastUsed() < model.lastUsed()
                            && count(live, r.model(), null) > owner.min();
                })
                .sorted(Comparator.comparingLong(
                        (Replica r) -> models.get(r.model()).lastUsed()))
                .toList();
        boolean waitForVictim = false;
        for (Node n : able) {
            long room = free(n, used) + draining.getOrDefault(n.address(), 0L);
            long need_here = n.footprints().get(model.id());
            List<Replica> chosen = new ArrayList<>();
            Map<String, Integer> taken = new HashMap<>();
            for (Replica v : victims) {
                if (!v.node().equals(n.address())) {
                    continue;
                }
                Model owner = models.get(v.model());
                if (count(live, v.model(), null) - taken.getOrDefault(v.model(), 0) <= owner.min()) {
                    continue;
                }
                chosen.add(v);
                taken.merge(v.model(), 1, Integer::sum);
                room += footprint(n, v.model());
                if (room >= need_here) {
                    break;
                }
            }
            if (room >= need_here && !chosen.isEmpty()) {
                // Only the first: the others are asked for on later ticks if still needed.
                Replica v = chosen.get(0);
                if (!v.evictable()) {
                    // The least recently used replica has only just loaded (it serves the request it
                    // was loaded for first): wait for it rather than retire a more recently used one.
                    waitForVictim = true;
                    continue;
                }
                return Optional.of(new Retire(v.entityId(), v.node(), "least recently used; memory for " + model.id()));
            }
        }
        if (waitForVictim) {
            return Optional.empty();
        }
        return Optional.of(new Unplaceable(
                model.id(),
                "no node has " + MemoryEstimate.human(need) + " free, and nothing less recently used above its "
                        + "min-replicas can make room"));
    }

    private static long free(Node n, Map<String, Long> used) {
        return n.budget() - used.getOrDefault(n.address(), 0L);
    }

    private static long footprint(Node n, String model) {
        return n == null ? 0 : n.footprints().getOrDefault(model, 0L);
    }

    private static long count(List<Replica> live, String model, String node) {
        return live.stream()
                .filter(r -> r.model().equals(model)
                        && !r.retiring()
                        && (node == null || r.node().equals(node)))
                .count();
    }
}
