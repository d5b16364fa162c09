/**
 * The Llama-family model: hyperparameters and weights from GGUF ({@link io.kvasir.engine.model.ModelConfig},
 * {@link io.kvasir.engine.model.LlamaModel#load}), the paged KV memory ({@link io.kvasir.engine.model.KvStore}),
 * the batched forward pass over a {@link io.kvasir.engine.core.ForwardBatch}, and
 * {@link io.kvasir.engine.model.LlamaRunner}, the {@link io.kvasir.engine.core.ModelRunner} the engine drives.
 *
 * <p>A step runs every row of the batch through a layer before the next layer starts, so each
 * weight matrix is streamed from memory once per step however many sequences share it. The layer
 * range makes a model a pipeline stage: middle stages pass hidden states, the last one produces logits.
 */
package io.kvasir.engine.model;
