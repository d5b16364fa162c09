package io.kvasir.engine.core;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/** One token per ASCII character (ids 0..127), plus BOS (128) and EOS (129) control tokens. */
final class AsciiTokenizer implements Tokenizer {

    static final int BOS = 128;
    static final int EOS = 129;

    @Override
    public int vocabSize() {
        return 130;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        int off = addBos ? 1 : 0;
        int[] ids = new int[text.length() + off];
        if (addBos) {
            ids[0] = BOS;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 128) {
                throw new IllegalArgumentException("not ASCII: " + c);
            }
            ids[i + off] = c;
        }
        return ids;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return isControl(id) ? new byte[0] : new byte[] {(byte) id};
    }

    @Override
    public String tokenText(int id) {
        return id == BOS ? "<s>" : id == EOS ? "</s>" : String.valueOf((char) id);
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(new String(tokenBytes(id), StandardCharsets.US_ASCII));
        }
        return sb.toString();
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
        return id >= 128;
    }
}
