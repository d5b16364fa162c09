/**
 * Tensor storage types and the CPU kernels that compute with them.
 *
 * <ul>
 *   <li>{@link io.kvasir.engine.tensor.WeightMatrices#of} wraps a weight tensor's bytes (a slice of
 *       the mapped GGUF file) in a {@link io.kvasir.engine.tensor.WeightMatrix} of its own type;
 *       the bytes are read in place (Q8_0 is repacked once into an interleaved copy of the same
 *       int8 data), never expanded to floats.
 *   <li>{@link io.kvasir.engine.tensor.ComputePools#create} makes the engine's one
 *       {@link io.kvasir.engine.tensor.ComputePool}; every matmul splits its rows over it.
 *   <li>{@link io.kvasir.engine.tensor.Quantizer} is the scalar reference for the block layouts:
 *       it writes synthetic models and is what the vector kernels are tested against.
 * </ul>
 *
 * <p>The kernels use the incubating Vector API: run with {@code --add-modules jdk.incubator.vector}.
 */
package io.kvasir.engine.tensor;
