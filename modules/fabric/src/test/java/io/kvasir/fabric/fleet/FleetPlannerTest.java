package io.kvasir.fabric.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.fabric.fleet.FleetPlanner.Load;
import io.kvasir.fabric.fleet.FleetPlanner.Model;
import io.kvasir.fabric.fleet.FleetPlanner.Node;
import io.kvasir.fabric.fleet.FleetPlanner.Replica;
import io.kvasir.fabric.fleet.FleetPlanner.Retire;
import io.kvasir.fabric.fleet.FleetPlanner.Unplaceable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The fleet's placement and unload decisions, on budgets and use times given outright. */
class FleetPlannerTest {

    private static final long GIB = 1L << 30;

    private static Node node(String address, long budget, String... models) {
        Map<String, Long> footprints = new java.util.HashMap<>();
        for (String m : models) {
            footprints.put(m, GIB);
        }
        return new Node(address, budget, footprints);
    }

    private static Replica up(String model, String node) {
        return new Replica(model + ":decode:0", model, node, false, true);
    }

    @Test
    void aWantedModelLoadsOnTheNodeWithTheMostRoom() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 3 * GIB, "a", "b"), node("n2", 4 * GIB, "a", "b")),
                List.of(up("b", "n2"), new Replica("b:decode:1", "b", "n2", false, true)),
                List.of(new Model("a", 1, 0, 10), new Model("b", 2, 0, 5)));
        assertThat(actions).containsExactly(new Load("a", "n1"));
    }

    @Test
    void withoutRoomTheLeastRecentlyUsedModelAboveItsMinimumIsRetired() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 2 * GIB + GIB / 2, "a", "b", "c")),
                List.of(up("a", "n1"), up("b", "n1")),
                List.of(new Model("a", 1, 0, 20), new Model("b", 1, 0, 10), new Model("c", 1, 0, 30)));
        assertThat(actions)
                .singleElement()
                .isInstanceOfSatisfying(
                        Retire.class, r -> assertThat(r.entityId()).isEqualTo("b:decode:0"));
    }

    @Test
    void aModelAtItsMinimumIsNeverRetiredForMemory() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 2 * GIB, "warm", "a", "c")),
                List.of(up("warm", "n1"), up("a", "n1")),
                List.of(new Model("warm", 1, 1, 1), new Model("a", 1, 0, 20), new Model("c", 1, 0, 30)));
        assertThat(actions)
                .singleElement()
                .isInstanceOfSatisfying(
                        Retire.class, r -> assertThat(r.entityId()).isEqualTo("a:decode:0"));
    }

    @Test
    void memoryARetiringReplicaWillFreeIsWaitedForNotTakenTwice() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 2 * GIB, "a", "b", "c")),
                List.of(new Replica("a:decode:0", "a", "n1", true, true), up("b", "n1")),
                List.of(new Model("a", 0, 0, 5), new Model("b", 1, 0, 10), new Model("c", 1, 0, 30)));
        assertThat(actions).isEmpty();
    }

    @Test
    void aJustLoadedLeastRecentlyUsedReplicaIsWaitedForAndAMoreRecentOneIsNotEvicted() {
        // b is the least recently used but has only just loaded: wait, do not take a instead.
        var actions = FleetPlanner.plan(
                List.of(node("n1", 2 * GIB, "a", "b", "c")),
                List.of(up("a", "n1"), new Replica("b:decode:0", "b", "n1", false, false)),
                List.of(new Model("a", 1, 0, 20), new Model("b", 1, 0, 10), new Model("c", 1, 0, 30)));
        assertThat(actions).isEmpty();
        actions = FleetPlanner.plan(
                List.of(node("n1", GIB, "a", "c")),
                List.of(up("a", "n1")),
                List.of(new Model("a", 1, 0, 50), new Model("c", 1, 0, 30)));
        assertThat(actions).singleElement().isInstanceOf(Unplaceable.class);
    }

    @Test
    void aBudgetSmallerThanTheModelIsNamedWithBothFigures() {
        var actions = FleetPlanner.plan(List.of(node("n1", GIB / 2, "a")), List.of(), List.of(new Model("a", 1, 1, 0)));
        assertThat(actions)
                .singleElement()
                .isInstanceOfSatisfying(
                        Unplaceable.class,
                        u -> assertThat(u.why()).contains("1.00 GiB").contains("512.0 MiB"));
    }

    @Test
    void aNodeThatCannotReadTheModelIsNeverChosen() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 8 * GIB), node("n2", 2 * GIB, "a")), List.of(), List.of(new Model("a", 1, 0, 1)));
        assertThat(actions).containsExactly(new Load("a", "n2"));
        actions = FleetPlanner.plan(List.of(node("n1", 8 * GIB)), List.of(), List.of(new Model("a", 1, 0, 1)));
        assertThat(actions).singleElement().isInstanceOf(Unplaceable.class);
    }

    @Test
    void scalingDownRetiresTheReplicaLoadedLast() {
        var actions = FleetPlanner.plan(
                List.of(node("n1", 4 * GIB, "a")),
                List.of(up("a", "n1"), new Replica("a:decode:1", "a", "n1", false, true)),
                List.of(new Model("a", 1, 0, 1)));
        assertThat(actions)
                .singleElement()
                .isInstanceOfSatisfying(
                        Retire.class, r -> assertThat(r.entityId()).isEqualTo("a:decode:1"));
    }
}
