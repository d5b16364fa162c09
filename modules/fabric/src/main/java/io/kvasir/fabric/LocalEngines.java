package io.kvasir.fabric;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.InferenceEngine;
import java.util.List;

/**
 * The real engine behind a model shard: each replica maps its model's GGUF file and runs its own
 * {@link io.kvasir.engine.core.EngineCore}. What {@code ./kvasir serve} uses and what an embedding
 * application passes to {@link Kvasir#start} unless it brings its own factory.
 */
public final class LocalEngines {

    private LocalEngines() {
    }

    /** A factory with default engine options; compute threads default to one per core. */
    public static EngineFactory factory() {
        return factory(EngineOptions.defaults());
    }

    /** A factory whose KV pool and context limit come from each model's settings. */
    public static EngineFactory factory(EngineOptions base) {
        return (model, replica) -> {
            EngineOptions options = new EngineOptions(base.threads(), base.kvPrecision(), model.kvCacheBlocks(),
                    model.kvBlockSize(), model.maxModelLength(), base.kvBytesMax(), base.engine());
            return new Loaded(LocalModel.open(model.path(), options));
        };
    }

    private record Loaded(LocalModel model) implements LoadedModel {

        @Override
        public InferenceEngine engine() {
            return model.engine();
        }

        @Override
        public int[] chatPrompt(List<ChatMessage> messages) {
            return model.chatPrompt(messages);
        }

        @Override
        public int[] textPrompt(String prompt) {
            return model.textPrompt(prompt);
        }

        @Override
        public void close() {
            model.close();
        }
    }
}
