package io.kvasir.fabric;

import io.kvasir.engine.core.EngineRequest;
import java.time.Duration;
import java.util.List;

/**
 * TEST DOUBLE: the scripted engines ({@link ScriptedFactory}, {@link ScriptedEngine}) as an
 * {@link EngineFactory} that actor tests in the fabric's sub-packages can use and look into. The
 * doubles themselves stay package-private; this is their one public door, so that the tests of
 * this package keep using them as they are.
 */
public final class ScriptedEngines implements EngineFactory {

    private final ScriptedFactory factory;

    /** Engines that sleep {@code stepDelay} per step ({@link Duration#ZERO}: none). */
    public ScriptedEngines(Duration stepDelay) {
        this.factory = new ScriptedFactory(stepDelay);
    }

    @Override
    public io.kvasir.engine.ServedModel load(ModelSettings model, ReplicaId replica) {
        return factory.load(model, replica);
    }

    /** The engine request ids of the runs of the fabric turn {@code requestId} the replica's engine was given. */
    public List<String> runsOf(String replica, String requestId) {
        return engine(replica).added().stream()
                .map(EngineRequest::id)
                .filter(id -> ScriptedEngine.ofTurn(id, requestId))
                .toList();
    }

    /** KV blocks held by the replica's live requests. */
    public int blocksInUse(String replica) {
        return engine(replica).blocksInUse();
    }

    /**
     * The replica engine's monitor. Every engine method the engine thread calls is synchronized on
     * it, so while a test holds it, that thread stops at its next engine call: a test can let the
     * actor handle messages while the engine is held still.
     */
    public Object monitor(String replica) {
        return engine(replica);
    }

    private ScriptedEngine engine(String replica) {
        ScriptedEngine engine = factory.engine(replica);
        if (engine == null) {
            throw new AssertionError("replica " + replica + " has not loaded an engine");
        }
        return engine;
    }
}
