package io.kvasir.server;

/** Range checks of numeric options, failing with a message that names the option and the value given. */
final class OptionChecks {

    private OptionChecks() {}

    static void atLeastOne(String option, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, got " + value);
        }
    }

    /** @param zeroMeans what 0 asks for, e.g. "one per core" */
    static void notNegative(String option, long value, String zeroMeans) {
        if (value < 0) {
            throw new IllegalArgumentException(option + " must be 0 (" + zeroMeans + ") or more, got " + value);
        }
    }
}
