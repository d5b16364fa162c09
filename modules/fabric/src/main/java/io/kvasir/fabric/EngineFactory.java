package io.kvasir.fabric;

import io.kvasir.engine.ServedModel;

/**
 * Loads a model replica. Called on the replica's own engine thread, so it may block (mapping
 * weights, warming up). The server wires the real engine, chat template and tokenizer in here.
 */
@FunctionalInterface
public interface EngineFactory {

    ServedModel load(ModelSettings model, ReplicaId replica) throws Exception;
}
