package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Load options (the weight dtype) and generateMany (@since 0.3), on the CPU. */
class GenerateManyTest {
  static Model lm;
  static final String[] PROMPTS = {"In the beginning", "And God said", "Let there be light"};

  @BeforeAll
  static void load() {
    lm = Model.load(TestFiles.tokenModel());
  }

  @AfterAll
  static void close() {
    lm.close();
  }

  /** max |a - b| / max(1, max |a|). */
  static double relDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double err = 0, scale = 1;
    for (int i = 0; i < a.length; i++) {
      err = Math.max(err, Math.abs((double) a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    return err / scale;
  }

  // ------------------------------------------------------------ weight dtype

  @Test
  void defaultWeightDTypeIsF32() {
    assertEquals(DType.F32, lm.weightDType());
    assertEquals(DType.F32, LoadOptions.defaults().weightDType());
    assertSame(LoadOptions.defaults(), LoadOptions.defaults());
    LoadOptions bf16 = LoadOptions.defaults().withWeightDType(DType.BF16);
    assertEquals(DType.BF16, bf16.weightDType());
    assertEquals(DType.F32, LoadOptions.defaults().weightDType(), "immutable");
    assertEquals(bf16, LoadOptions.defaults().withWeightDType(DType.BF16));
    assertTrue(bf16.toString().contains("BF16"), bf16.toString());
  }

  @Test
  void loadWithWeightDType() throws Exception {
    byte[] bytes = Files.readAllBytes(TestFiles.tokenModel());
    for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
      LoadOptions o = LoadOptions.defaults().withWeightDType(t);
      try (Model a = Model.load(TestFiles.tokenModel(), o);
           SeqcoreRuntime rt = SeqcoreRuntime.cpu(1);
           Model b = Model.load(rt, TestFiles.tokenModel().toString(), o);
           Model c = Model.fromBytes(null, bytes, o);
           Model d = Model.fromBuffer(rt, ByteBuffer.allocateDirect(bytes.length).put(bytes).flip(), o)) {
        for (Model m : new Model[] {a, b, c, d}) {
          assertEquals(t, m.weightDType(), m.toString());
        }
      }
    }
  }

  @Test
  void reducedPrecisionLogitsCloseToF32() {
    for (DType t : new DType[] {DType.BF16, DType.F16}) {
      try (Model m = Model.load(TestFiles.tokenModel(), LoadOptions.defaults().withWeightDType(t));
           Stream ref = lm.newStream(); Stream low = m.newStream(); Stream copy = lm.newStream()) {
        for (int tok : TestFiles.tokens("In the beginning God")) {
          double d = relDiff(ref.stepToken(tok), low.stepToken(tok));
          assertTrue(d <= 2e-2, t + ": relative difference " + d);
        }
        // Snapshots move between precisions.
        copy.restore(low.snapshot());
        assertEquals(low.position(), copy.position());
      }
    }
  }

  @Test
  void unsupportedWeightDType() {
    for (DType t : new DType[] {DType.I8, DType.F64, DType.I32, DType.U8, DType.I64}) {
      LoadOptions o = LoadOptions.defaults().withWeightDType(t);
      ErrorTest.fails(Status.DTYPE, () -> Model.load(TestFiles.tokenModel(), o));
      ErrorTest.fails(Status.DTYPE, () -> Model.fromBytes(null, new byte[8], o));
    }
    assertThrows(NullPointerException.class, () -> LoadOptions.defaults().withWeightDType(null));
    assertThrows(NullPointerException.class, () -> Model.load(TestFiles.tokenModel(), null));
    Model m = Model.load(TestFiles.tokenModel(), LoadOptions.defaults().withWeightDType(DType.BF16));
    m.close();
    ErrorTest.fails(Status.INVALID_ARGUMENT, m::weightDType);
  }

  // ------------------------------------------------------------ generateMany

  /** One stream per prompt, fed all of it but its last byte, with its own settings and seed. */
  static List<Stream> prefilled(Model m, float[][] settings) {
    List<Stream> streams = new ArrayList<>();
    for (int i = 0; i < PROMPTS.length; i++) {
      Stream s = m.newStream();
      s.setSampling(settings[i][0], (int) settings[i][1], settings[i][2]);
      s.setSeed(100 + i);
      int[] p = TestFiles.tokens(PROMPTS[i]);
      s.forwardTokens(Arrays.copyOf(p, p.length - 1), OutputMode.NONE);
      streams.add(s);
    }
    return streams;
  }

  static int[] lastTokens() {
    int[] last = new int[PROMPTS.length];
    for (int i = 0; i < PROMPTS.length; i++) {
      last[i] = PROMPTS[i].charAt(PROMPTS[i].length() - 1);
    }
    return last;
  }

  static final float[][][] SETTINGS = {
    {{0, 0, 1}, {0, 0, 1}, {0, 0, 1}},
    {{0, 0, 1}, {0.8f, 40, 0.95f}, {1, 0, 1}},
    {{1.2f, 100, 1}, {0.7f, 5, 0.9f}, {0, 1, 1}},
  };

  /** generateMany equals each stream's own generate, token for token and state for state. */
  static void assertManyEqualsSolo(Model m, float[][] settings, int steps) {
    List<Stream> many = prefilled(m, settings);
    List<Stream> solo = new ArrayList<>();
    for (Stream s : many) {
      solo.add(s.fork());
    }
    try (StreamBatch batch = new StreamBatch(many)) {
      int[] lastMany = lastTokens();
      int[] lastSolo = lastTokens();
      for (int step = 0; step < steps; step++) {
        lastMany = step % 2 == 0 ? Stream.generateMany(many, lastMany) : batch.generate(lastMany);
        for (int i = 0; i < solo.size(); i++) {
          lastSolo[i] = solo.get(i).generate(lastSolo[i]);
        }
        assertArrayEquals(lastSolo, lastMany, "step " + step);
      }
      for (int i = 0; i < many.size(); i++) {
        assertArrayEquals(solo.get(i).snapshot(), many.get(i).snapshot());
      }
    } finally {
      for (Stream s : many) {
        s.close();
      }
      for (Stream s : solo) {
        s.close();
      }
    }
  }

  @Test
  void generateManyEqualsSoloGenerate() {
    for (float[][] settings : SETTINGS) {
      assertManyEqualsSolo(lm, settings, 24);
    }
  }

  @Test
  void generateManyIntoArray() {
    try (Stream a = lm.newStream(); Stream b = lm.newStream();
         StreamBatch batch = new StreamBatch(Arrays.asList(a, b))) {
      Stream ta = a.fork();
      Stream tb = b.fork();
      int[] out = {-1, -1, 77};
      batch.generate(new int[] {'I', 'A'}, out);
      assertArrayEquals(new int[] {ta.generate('I'), tb.generate('A'), 77}, out);
      ta.close();
      tb.close();
    }
  }

  @Test
  void generateManyErrorsChangeNothing() throws Exception {
    Stream b = lm.newStream(); // closed by the test
    try (Stream a = lm.newStream();
         Model other = Model.load(TestFiles.tokenModel()); Stream c = other.newStream();
         Model frames = Model.load(TestFiles.frameModel()); Stream f = frames.newStream()) {
      a.forwardTokens(TestFiles.tokens("abc"), OutputMode.NONE);
      byte[] sa = a.snapshot();
      byte[] sb = b.snapshot();
      List<Stream> ab = Arrays.asList(a, b);
      ErrorTest.fails(Status.INVALID_ARGUMENT, () -> Stream.generateMany(Arrays.asList(a, a), new int[] {1, 2}));
      ErrorTest.fails(Status.INVALID_ARGUMENT, () -> Stream.generateMany(ab, new int[] {1, 256}));
      ErrorTest.fails(Status.INVALID_ARGUMENT, () -> Stream.generateMany(ab, new int[] {-1, 2}));
      ErrorTest.fails(Status.SHAPE, () -> Stream.generateMany(ab, new int[] {1}));
      ErrorTest.fails(Status.SHAPE, () -> Stream.generateMany(ab, new int[] {1, 2, 3}));
      ErrorTest.fails(Status.MISMATCH, () -> Stream.generateMany(Arrays.asList(a, c), new int[] {1, 2}));
      ErrorTest.fails(Status.INVALID_ARGUMENT, () -> Stream.generateMany(Arrays.asList(f), new int[] {1}));
      try (StreamBatch batch = new StreamBatch(ab)) {
        ErrorTest.fails(Status.SHAPE, () -> batch.generate(new int[] {1, 2}, new int[1]));
      }
      assertThrows(NullPointerException.class, () -> Stream.generateMany(ab, null));
      assertThrows(NullPointerException.class, () -> Stream.generateMany(null, new int[0]));
      assertArrayEquals(sa, a.snapshot());
      assertArrayEquals(sb, b.snapshot());
      assertArrayEquals(new int[0], Stream.generateMany(new ArrayList<>(), new int[0]));
      b.close();
      ErrorTest.fails(Status.INVALID_ARGUMENT, () -> Stream.generateMany(ab, new int[] {1, 2}));
      assertArrayEquals(sa, a.snapshot());
    } finally {
      b.close();
    }
  }
}
