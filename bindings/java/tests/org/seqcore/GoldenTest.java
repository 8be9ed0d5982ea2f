package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/**
 * The shared scenario of bindings/common/README.md through the Java API,
 * compared bit for bit with what the C API wrote into golden.bin.
 */
class GoldenTest {
  private static float[] floats(ByteBuffer b, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = b.getFloat();
    }
    return v;
  }

  private static int[] ints(ByteBuffer b, int n) {
    int[] v = new int[n];
    for (int i = 0; i < n; i++) {
      v[i] = b.getInt();
    }
    return v;
  }

  @Test
  void scenarioMatchesTheCApiBitForBit() throws Exception {
    ByteBuffer golden = TestFiles.golden();
    assertEquals(2048, golden.remaining(), "golden.bin size");
    float[] goldenForward = floats(golden, 12 * 16);
    float[] goldenLogits = floats(golden, 256);
    int[] goldenGreedy = ints(golden, 32);
    int[] goldenSampled = ints(golden, 32);
    int[] prompt = TestFiles.tokens("In the beginning");

    // 1. forward over 12 frames, all outputs: arrays, then direct buffers.
    try (Model frames = Model.load(TestFiles.frameModel())) {
      try (Stream s = frames.newStream()) {
        TestFiles.assertBits(goldenForward, s.forward(TestFiles.scenarioFrames(12), OutputMode.ALL));
      }
      try (Stream s = frames.newStream()) {
        FloatBuffer in = TestFiles.directFloats(12 * 8).put(TestFiles.scenarioFrames(12));
        in.flip();
        FloatBuffer out = TestFiles.directFloats(12 * 16);
        s.forward(in, OutputMode.ALL, out);
        float[] got = new float[12 * 16];
        out.get(got);
        TestFiles.assertBits(goldenForward, got);
      }
    }

    try (Model lm = Model.load(TestFiles.tokenModel())) {
      // 2. logits after the prompt.
      try (Stream s = lm.newStream()) {
        TestFiles.assertBits(goldenLogits, s.forwardTokens(prompt, OutputMode.LAST));
      }
      // 3. greedy generation, the default sampling.
      try (Stream s = lm.newStream()) {
        assertArrayEquals(goldenGreedy, s.tokens(prompt, 32).asIntStream().toArray());
      }
      // 4. sampled generation.
      try (Stream s = lm.newStream()) {
        s.setSampling(0.8f, 40, 0.95f);
        s.setSeed(1234);
        assertArrayEquals(goldenSampled, s.generateTokens(prompt, 32));
      }
      // The same with the primitive generate() loop.
      try (Stream s = lm.newStream()) {
        s.setSampling(0.8f, 40, 0.95f);
        s.setSeed(1234);
        int[] got = new int[32];
        got[0] = s.generate(prompt);
        for (int i = 1; i < 32; i++) {
          got[i] = s.generate(got[i - 1]);
        }
        assertArrayEquals(goldenSampled, got);
      }
      // 3 and 4 at once: the prompt fed to each by generate, then generateMany.
      try (Stream greedy = lm.newStream(); Stream sampled = lm.newStream();
           StreamBatch batch = new StreamBatch(java.util.Arrays.asList(greedy, sampled))) {
        sampled.setSampling(0.8f, 40, 0.95f);
        sampled.setSeed(1234);
        int[] gotGreedy = new int[32];
        int[] gotSampled = new int[32];
        int[] last = {greedy.generate(prompt), sampled.generate(prompt)};
        for (int i = 0; i < 32; i++) {
          gotGreedy[i] = last[0];
          gotSampled[i] = last[1];
          if (i < 31) {
            last = batch.generate(last);
          }
        }
        assertArrayEquals(goldenGreedy, gotGreedy, "generateMany, greedy");
        assertArrayEquals(goldenSampled, gotSampled, "generateMany, sampled");
      }
    }
  }
}
