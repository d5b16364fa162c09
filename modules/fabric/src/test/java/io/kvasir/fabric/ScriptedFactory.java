package io.kvasir.fabric;

import io.kvasir.engine.ServedModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.InferenceEngine;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** TEST DOUBLE: an {@link EngineFactory} of {@link ScriptedEngine}s that remembers what it made. */
final class ScriptedFactory implements EngineFactory {

    private final Duration stepDelay;
    private final Map<String, ScriptedEngine> engines = new ConcurrentHashMap<>();
    private final Map<String, List<Long>> loads = new ConcurrentHashMap<>();

    ScriptedFactory(Duration stepDelay) {
        this.stepDelay = stepDelay;
    }

    /** Times a load of {@code replica} was attempted, failed ones included. */
    int loadAttempts(String replica) {
        return loadTimes(replica).size();
    }

    /** When each load of {@code replica} was attempted ({@link System#nanoTime}), in order. */
    List<Long> loadTimes(String replica) {
        List<Long> times = loads.get(replica);
        if (times == null) {
            return List.of();
        }
        synchronized (times) {
            return List.copyOf(times);
        }
    }

    @Override
    public ServedModel load(ModelSettings model, ReplicaId replica) {
        List<Long> times = loads.computeIfAbsent(replica.entityId(), k -> new java.util.ArrayList<>());
        synchronized (times) {
            times.add(System.nanoTime());
        }
        if (model.path().toString().equals("missing.gguf")) {
            throw new IllegalStateException("no such file: missing.gguf");
        }
        ScriptedEngine engine =
                new ScriptedEngine(model.maxModelLength(), model.kvBlockSize(), model.kvCacheBlocks(), stepDelay);
        engines.put(replica.entityId(), engine);
        return new ServedModel() {
            @Override
            public InferenceEngine engine() {
                return engine;
            }

            @Override
            public int[] chatPrompt(List<ChatMessage> messages) {
                StringBuilder text = new StringBuilder();
                for (ChatMessage m : messages) {
                    text.append(m.role()).append(": ").append(m.content()).append('\n');
                }
                return engine.tokenizer().encode(text.append("assistant: ").toString(), true, false);
            }

            @Override
            public int[] textPrompt(String prompt) {
                return engine.tokenizer().encode(prompt, true, false);
            }

            @Override
            public void close() {
                engine.close();
            }
        };
    }

    ScriptedEngine engine(String replicaId) {
        return engines.get(replicaId);
    }

    Map<String, ScriptedEngine> engines() {
        return Map.copyOf(engines);
    }
}
