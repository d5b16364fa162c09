package io.kvasir.fabric;

import java.util.Collection;
import java.util.Comparator;
import java.util.Optional;

/** The known setting a mistyped name most likely meant, so that an error can say "did you mean". */
final class SettingNames {

    private SettingNames() {}

    /** The known name within two edits of {@code key} (the nearest), if any. */
    static Optional<String> closest(String key, Collection<String> known) {
        return known.stream()
                .filter(k -> distance(key, k) <= 2)
                .min(Comparator.comparingInt((String k) -> distance(key, k)).thenComparing(k -> k));
    }

    /** {@code " (did you mean 'x'?)"}, or nothing when no known name is close. */
    static String suggestion(String key, Collection<String> known) {
        return closest(key, known).map(k -> " (did you mean '" + k + "'?)").orElse("");
    }

    /** Edit distance, counting a swap of two neighbouring letters as one edit (typos often are). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
