package io.kvasir.fabric;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/** Test tokenizer: one token per UTF-8 byte, plus BOS (256) and EOS (257). */
final class ByteTokenizer implements Tokenizer {

    static final int BOS = 256;
    static final int EOS = 257;

    @Override
    public int vocabSize() {
        return 258;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int offset = addBos ? 1 : 0;
        int[] ids = new int[bytes.length + offset];
        if (addBos) {
            ids[0] = BOS;
        }
        for (int i = 0; i < bytes.length; i++) {
            ids[i + offset] = bytes[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return id < 256 ? new byte[] {(byte) id} : new byte[0];
    }

    @Override
    public String tokenText(int id) {
        return id == BOS ? "<s>" : id == EOS ? "</s>" : new String(tokenBytes(id), StandardCharsets.ISO_8859_1);
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder out = new StringBuilder();
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            bytes.writeBytes(tokenBytes(id));
        }
        return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public Set<Integer> endOfGenerationIds() {
        return Set.of(EOS);
    }

    @Override
    public boolean isControl(int id) {
        return id >= 256;
    }
}
