package io.kvasir.engine.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Seeded damage to a valid GGUF file, of the kinds real files suffer and hostile ones contain: bit
 * flips, truncation, structural fields overwritten with extreme values, duplicated key/value records
 * and tensor infos. Every mutation is a pure function of the file and the random source, so a failing
 * case is reproduced from its seed.
 */
final class GgufMutator {

    /** A damaged file and what was done to it. */
    record Mutation(String description, byte[] bytes) {}

    private static final long[] EXTREME_64 = {
        0,
        1,
        -1,
        Long.MAX_VALUE,
        Long.MIN_VALUE,
        Integer.MAX_VALUE,
        1L << 31,
        (1L << 32) - 1,
        1L << 32,
        1L << 40,
        1L << 62,
        Long.MAX_VALUE - 31,
        -32,
    };
    private static final long[] EXTREME_32 = {
        0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0xFFFF, 1 << 16, 1 << 24, 1 << 28,
    };

    private final byte[] original;
    private final GgufLayout layout;

    GgufMutator(byte[] original) {
        this.original = original.clone();
        this.layout = GgufLayout.of(original);
    }

    Mutation mutate(Random rnd) {
        int pick = rnd.nextInt(100);
        if (pick < 25) {
            return flipBits(rnd);
        } else if (pick < 40) {
            return truncate(rnd);
        } else if (pick < 80) {
            return overwriteField(rnd, pickField(rnd));
        } else if (pick < 90) {
            return overwriteField(rnd, pickHyperparameter(rnd));
        } else if (pick < 95) {
            return duplicate(rnd, layout.keyValues(), 16, "key/value record");
        } else {
            return duplicate(rnd, layout.tensorInfos(), 8, "tensor info");
        }
    }

    /** One to three flipped bits, mostly in the header where the parser's checks are. */
    private Mutation flipBits(Random rnd) {
        byte[] b = original.clone();
        int flips = 1 + rnd.nextInt(3);
        StringBuilder where = new StringBuilder();
        for (int i = 0; i < flips; i++) {
            int at = rnd.nextInt(10) < 8 ? rnd.nextInt(layout.headerEnd()) : rnd.nextInt(b.length);
            int bit = rnd.nextInt(8);
            b[at] ^= (byte) (1 << bit);
            where.append(i == 0 ? "" : ", ").append(at).append('.').append(bit);
        }
        return new Mutation("bit flips at " + where, b);
    }

    private Mutation truncate(Random rnd) {
        int size = rnd.nextBoolean() ? rnd.nextInt(layout.headerEnd() + 1) : rnd.nextInt(original.length);
        return new Mutation(
                "truncated to " + size + " of " + original.length + " bytes", Arrays.copyOf(original, size));
    }

    /** A count, length, type, dimension, offset or integer value set to an extreme or nearby value. */
    private Mutation overwriteField(Random rnd, GgufLayout.Field f) {
        ByteBuffer b = ByteBuffer.wrap(original.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long old = read(b, f);
        long value = switch (f.kind()) {
            // Type ids: mostly near the defined ones, where a wrong but known type hides.
            case VALUE_TYPE, ELEMENT_TYPE, TENSOR_TYPE -> rnd.nextBoolean() ? rnd.nextInt(42) : pick(rnd, EXTREME_32);
            default ->
                switch (rnd.nextInt(4)) {
                    case 0 -> old + (rnd.nextBoolean() ? 1 : -1);
                    case 1 -> old * 2 + rnd.nextInt(3);
                    case 2 -> rnd.nextLong();
                    default -> f.width() == 8 ? pick(rnd, EXTREME_64) : pick(rnd, EXTREME_32);
                };
        };
        write(b, f, value);
        return new Mutation(
                f.kind() + " of " + f.label() + " at byte " + f.offset() + ": " + old + " -> " + read(b, f), b.array());
    }

    /**
     * A kind of field first, then a field of that kind: picked uniformly, the few hundred token
     * lengths and types of the vocabulary would crowd out the dozen hyperparameters and counts.
     * Integer values are scalars (hyperparameters, token ids) half the time, array elements otherwise.
     */
    private GgufLayout.Field pickField(Random rnd) {
        List<GgufLayout.Kind> kinds =
                layout.fields().stream().map(GgufLayout.Field::kind).distinct().toList();
        GgufLayout.Kind kind = kinds.get(rnd.nextInt(kinds.size()));
        boolean scalar = rnd.nextBoolean();
        List<GgufLayout.Field> ofKind = layout.fields().stream()
                .filter(f -> f.kind() == kind)
                .filter(f -> kind != GgufLayout.Kind.INT_VALUE || f.label().contains("[") != scalar)
                .toList();
        return ofKind.get(rnd.nextInt(ofKind.size()));
    }

    /** A scalar integer value: a hyperparameter, a token id, a file type. */
    private GgufLayout.Field pickHyperparameter(Random rnd) {
        List<GgufLayout.Field> scalars = layout.fields().stream()
                .filter(f -> f.kind() == GgufLayout.Kind.INT_VALUE && !f.label().contains("["))
                .toList();
        return scalars.get(rnd.nextInt(scalars.size()));
    }

    /** A record inserted a second time right after itself, its count raised to match. */
    /** {@code countAt}: where the record's count lies (tensor count at byte 8, key/value count at 16). */
    private Mutation duplicate(Random rnd, List<GgufLayout.Span> spans, int countAt, String what) {
        if (spans.isEmpty()) {
            return flipBits(rnd);
        }
        GgufLayout.Span s = spans.get(rnd.nextInt(spans.size()));
        int len = s.end() - s.start();
        byte[] b = new byte[original.length + len];
        System.arraycopy(original, 0, b, 0, s.end());
        System.arraycopy(original, s.start(), b, s.end(), len);
        System.arraycopy(original, s.end(), b, s.end() + len, original.length - s.end());
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(countAt, buf.getLong(countAt) + 1);
        return new Mutation(what + " '" + s.label() + "' duplicated", b);
    }

    private static long pick(Random rnd, long[] values) {
        return values[rnd.nextInt(values.length)];
    }

    private static long read(ByteBuffer b, GgufLayout.Field f) {
        return switch (f.width()) {
            case 1 -> b.get(f.offset());
            case 2 -> b.getShort(f.offset());
            case 4 -> b.getInt(f.offset());
            default -> b.getLong(f.offset());
        };
    }

    private static void write(ByteBuffer b, GgufLayout.Field f, long v) {
        switch (f.width()) {
            case 1 -> b.put(f.offset(), (byte) v);
            case 2 -> b.putShort(f.offset(), (short) v);
            case 4 -> b.putInt(f.offset(), (int) v);
            default -> b.putLong(f.offset(), v);
        }
    }
}
