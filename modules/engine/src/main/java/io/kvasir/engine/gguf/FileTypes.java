package io.kvasir.engine.gguf;

import java.util.Optional;

/**
 * The names llama.cpp gives the values of {@code general.file_type} (the mix a file was quantized
 * to, "Q4_K_M", which the tensors' own types do not say: a Q4_K_M file of a model 576 wide is
 * mostly Q5_0). Numbers that llama.cpp has retired or not assigned have no name.
 */
public final class FileTypes {

    private FileTypes() {}

    /** The name of file type {@code id}, if llama.cpp has one for it. */
    public static Optional<String> name(long id) {
        String name = switch ((int) Math.max(-1, Math.min(id, Integer.MAX_VALUE))) {
            case 0 -> "F32";
            case 1 -> "F16";
            case 2 -> "Q4_0";
            case 3 -> "Q4_1";
            case 7 -> "Q8_0";
            case 8 -> "Q5_0";
            case 9 -> "Q5_1";
            case 10 -> "Q2_K";
            case 11 -> "Q3_K_S";
            case 12 -> "Q3_K_M";
            case 13 -> "Q3_K_L";
            case 14 -> "Q4_K_S";
            case 15 -> "Q4_K_M";
            case 16 -> "Q5_K_S";
            case 17 -> "Q5_K_M";
            case 18 -> "Q6_K";
            case 19 -> "IQ2_XXS";
            case 20 -> "IQ2_XS";
            case 21 -> "Q2_K_S";
            case 22 -> "IQ3_XS";
            case 23 -> "IQ3_XXS";
            case 24 -> "IQ1_S";
            case 25 -> "IQ4_NL";
            case 26 -> "IQ3_S";
            case 27 -> "IQ3_M";
            case 28 -> "IQ2_S";
            case 29 -> "IQ2_M";
            case 30 -> "IQ4_XS";
            case 31 -> "IQ1_M";
            case 32 -> "BF16";
            case 36 -> "TQ1_0";
            case 37 -> "TQ2_0";
            case 38 -> "MXFP4_MOE";
            default -> null;
        };
        return Optional.ofNullable(name);
    }

    /** The name of {@code gguf}'s {@code general.file_type}, if it has one that is known. */
    public static Optional<String> of(GgufFile gguf) {
        return gguf.has("general.file_type") ? name(gguf.integer("general.file_type")) : Optional.empty();
    }
}
