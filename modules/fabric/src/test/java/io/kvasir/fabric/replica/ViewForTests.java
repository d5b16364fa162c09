package io.kvasir.fabric.replica;

import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.List;
import java.util.Map;

/** Lets tests in other packages publish a replica view, as the directory does. */
public final class ViewForTests {

    private ViewForTests() {}

    public static void publish(ReplicaView view, Map<String, List<LoadReport>> byModel) {
        view.publish(byModel);
    }
}
