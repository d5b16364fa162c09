package io.kvasir.engine.model;

/**
 * Which dimensions of a head RoPE rotates together. llama.cpp's converter permutes Llama's Q and K
 * weights so that rotated pairs are adjacent; Qwen2 keeps the original (GPT-NeoX) layout, where
 * dimension {@code i} pairs with {@code i + ropeDim / 2}.
 */
public enum RopeStyle {
    ADJACENT,
    NEOX
}
