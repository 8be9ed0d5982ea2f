package org.seqcore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The shared fixtures, found through the environment meson test sets. */
final class TestFiles {
  private TestFiles() {}

  static Path env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException(name + " is not set (run the tests through meson test)");
    }
    return Paths.get(v);
  }

  /** tiny-lstm.safetensors: frames of 8 floats in, 16 floats out. */
  static Path frameModel() {
    return env("SEQC_TEST_FRAME_MODEL");
  }

  /** kjv-lstm.safetensors: byte tokens in, 256 logits out. */
  static Path tokenModel() {
    return env("SEQC_TEST_TOKEN_MODEL");
  }

  /** tiny-bpe.safetensors: a BPE language model (vocabulary 704, tokenizer of 700 tokens). */
  static Path bpeModel() {
    return env("SEQC_TEST_BPE_MODEL");
  }

  /** golden.bin, little-endian. */
  static ByteBuffer golden() throws IOException {
    return ByteBuffer.wrap(Files.readAllBytes(env("SEQC_TEST_GOLDEN"))).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The frames of the shared scenario: x[t][j] = (((t*8 + j) % 17) - 8) / 8. */
  static float[] scenarioFrames(int positions) {
    float[] x = new float[positions * 8];
    for (int t = 0; t < positions; t++) {
      for (int j = 0; j < 8; j++) {
        x[t * 8 + j] = (float) (((t * 8 + j) % 17) - 8) / 8.0f;
      }
    }
    return x;
  }

  /** The bytes of a string as token ids. */
  static int[] tokens(String s) {
    byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    int[] ids = new int[b.length];
    for (int i = 0; i < b.length; i++) {
      ids[i] = b[i] & 0xff;
    }
    return ids;
  }

  static FloatBuffer directFloats(int n) {
    return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  static IntBuffer directInts(int n) {
    return ByteBuffer.allocateDirect(n * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
  }

  /** Asserts two float arrays are equal bit for bit. */
  static void assertBits(float[] expected, float[] actual) {
    org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, "length");
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        org.junit.jupiter.api.Assertions.fail(
            "element " + i + ": expected " + expected[i] + " but was " + actual[i]);
      }
    }
  }
}
