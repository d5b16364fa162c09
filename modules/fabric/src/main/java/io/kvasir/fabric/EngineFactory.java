package io.kvasir.fabric;

import io.kvasir.engine.ServedModel;

/**
 * Loads a model replica. Called on the replica's own engine thread, so it may block (mapping
 * weights, warming up). The server wires the real engine, chat template and tokenizer in here.
 */
@FunctionalInterface
public interface EngineFactory {

    ServedModel load(ModelSettings model, ReplicaId replica) throws Exception;

    /**
     * Called for each configured model on this factory's engine when the node starts, before any
     * replica loads: a model this factory can never serve (a setting it needs is missing, a file
     * it cannot read) fails the start here, with one line, instead of failing every load after it.
     * A problem that may pass (a file not there yet) is left to the loads, which retry.
     *
     * @param hostsReplicas whether this node runs replicas (a gateway alone has no model files)
     * @throws IllegalArgumentException naming the model and what is wrong
     */
    default void check(ModelSettings model, boolean hostsReplicas) {}
}
