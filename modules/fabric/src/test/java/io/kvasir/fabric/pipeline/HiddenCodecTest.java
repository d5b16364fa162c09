package io.kvasir.fabric.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.util.ByteString;
import io.kvasir.engine.core.ForwardBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class HiddenCodecTest {

    private static final ForwardBatch BATCH = new ForwardBatch(
            new int[] {5, 6, 7, 9},
            new int[] {0, 1, 2, 40},
            new int[] {0, 0, 0, 1},
            new int[][] {{3}, {8, 2, 11}},
            new int[] {2, 3});

    @Test
    void aStepFrameCarriesTheDescriptorAndExactF32HiddenStates() {
        float[] hidden = hidden(4 * 3);
        ByteString frame = HiddenCodec.encodeStep(7, 1, BATCH, hidden, 3, false, 1234);
        HiddenCodec.Step step = HiddenCodec.decodeStep(frame);
        assertThat(step.step()).isEqualTo(7);
        assertThat(step.micro()).isEqualTo(1);
        assertThat(step.f16()).isFalse();
        assertThat(step.upstreamNanos()).isEqualTo(1234);
        assertThat(step.batch().tokens()).containsExactly(BATCH.tokens());
        assertThat(step.batch().positions()).containsExactly(BATCH.positions());
        assertThat(step.batch().seqIndex()).containsExactly(BATCH.seqIndex());
        assertThat(step.batch().blockTables()).isDeepEqualTo(BATCH.blockTables());
        assertThat(step.batch().sampleRows()).containsExactly(BATCH.sampleRows());
        assertThat(step.hidden()).containsExactly(hidden);
    }

    /** Deterministic mode's flag crosses to the next stage, with either hidden-state precision. */
    @Test
    void aStepFrameCarriesWhetherTheStepIsExact() {
        ForwardBatch exact = new ForwardBatch(
                BATCH.tokens(), BATCH.positions(), BATCH.seqIndex(), BATCH.blockTables(), BATCH.sampleRows(), true);
        for (boolean f16 : new boolean[] {false, true}) {
            HiddenCodec.Step on = HiddenCodec.decodeStep(HiddenCodec.encodeStep(1, 0, exact, hidden(12), 3, f16, 0));
            assertThat(on.batch().exact()).as("exact, f16 " + f16).isTrue();
            assertThat(on.f16()).isEqualTo(f16);
            HiddenCodec.Step off = HiddenCodec.decodeStep(HiddenCodec.encodeStep(1, 0, BATCH, hidden(12), 3, f16, 0));
            assertThat(off.batch().exact()).as("not exact, f16 " + f16).isFalse();
            assertThat(off.f16()).isEqualTo(f16);
        }
    }

    @Test
    void f16HalvesTheHiddenBytesAndRoundsToHalfPrecision() {
        float[] hidden = hidden(4 * 64);
        int f32 = HiddenCodec.encodeStep(1, 0, BATCH, hidden, 64, false, 0).size();
        ByteString frame = HiddenCodec.encodeStep(1, 0, BATCH, hidden, 64, true, 0);
        assertThat(f32 - frame.size()).isEqualTo(4 * 64 * 2);
        float[] back = HiddenCodec.decodeStep(frame).hidden();
        for (int i = 0; i < hidden.length; i++) {
            assertThat(back[i]).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(hidden[i])));
            assertThat(back[i])
                    .isCloseTo(hidden[i], org.assertj.core.data.Offset.offset(Math.abs(hidden[i]) / 1000 + 1e-4f));
        }
    }

    @Test
    void aResultFrameCarriesLogitsExactly() {
        float[][] logits = {hidden(5), hidden(5)};
        logits[1][2] = -3.5f;
        HiddenCodec.Result r = HiddenCodec.decodeResult(HiddenCodec.encodeResult(9, 2, logits, 55));
        assertThat(r.step()).isEqualTo(9);
        assertThat(r.micro()).isEqualTo(2);
        assertThat(r.computeNanos()).isEqualTo(55);
        assertThat(r.logits()).isDeepEqualTo(logits);
        assertThat(HiddenCodec.decodeResult(HiddenCodec.encodeResult(1, 0, new float[0][], 0))
                        .logits())
                .isEmpty();
    }

    /** An embedding's rows go down the chain with the step, and their hidden states come back exactly. */
    @Test
    void hiddenRowsGoDownWithTheStepAndTheirStatesComeBackWithTheLogits() {
        ForwardBatch embedding = new ForwardBatch(
                BATCH.tokens(),
                BATCH.positions(),
                BATCH.seqIndex(),
                BATCH.blockTables(),
                BATCH.sampleRows(),
                true,
                new int[] {0, 1, 2});
        for (boolean f16 : new boolean[] {false, true}) {
            HiddenCodec.Step step =
                    HiddenCodec.decodeStep(HiddenCodec.encodeStep(1, 0, embedding, hidden(12), 3, f16, 0));
            assertThat(step.batch().hiddenRows()).containsExactly(0, 1, 2);
            assertThat(step.batch().sampleRows()).containsExactly(BATCH.sampleRows());
            assertThat(step.batch().exact()).isTrue();
        }
        assertThat(HiddenCodec.decodeStep(HiddenCodec.encodeStep(1, 0, BATCH, hidden(12), 3, false, 0))
                        .batch()
                        .hiddenRows())
                .isEmpty();

        float[][] logits = {hidden(5)};
        float[][] states = {hidden(4), hidden(4), hidden(4)};
        states[2][1] = 0.125f;
        HiddenCodec.Result r = HiddenCodec.decodeResult(HiddenCodec.encodeResult(9, 2, logits, 55, states));
        assertThat(r.logits()).isDeepEqualTo(logits);
        assertThat(r.hidden()).isDeepEqualTo(states);
        assertThat(HiddenCodec.decodeResult(HiddenCodec.encodeResult(9, 2, logits, 55))
                        .hidden())
                .isEmpty();
    }

    @Test
    void framesAreCutIntoChunksAndPutTogether() throws Exception {
        ByteString frame = HiddenCodec.encodeStep(3, 0, BATCH, hidden(4 * 300), 300, false, 0);
        List<ByteString> chunks = StageLink.chunks(StageLink.lengthPrefixed(frame), 1000);
        assertThat(chunks).allSatisfy(c -> assertThat(c.size()).isLessThanOrEqualTo(1000));
        assertThat(chunks.size()).isGreaterThan(4);
        akka.actor.ActorSystem system = akka.actor.ActorSystem.create(
                "codec",
                com.typesafe.config.ConfigFactory.parseString("akka.actor.provider = local")
                        .withFallback(com.typesafe.config.ConfigFactory.load()));
        try {
            List<ByteString> frames = akka.stream.javadsl.Source.from(chunks)
                    .via(StageLink.incoming())
                    .runWith(akka.stream.javadsl.Sink.seq(), akka.stream.Materializer.matFromSystem(system))
                    .toCompletableFuture()
                    .get();
            assertThat(frames).containsExactly(frame);
        } finally {
            system.terminate();
        }
    }

    private static float[] hidden(int n) {
        float[] h = new float[n];
        for (int i = 0; i < n; i++) {
            h[i] = (float) Math.sin(i * 0.37) * (1 + i % 7);
        }
        return h;
    }
}
