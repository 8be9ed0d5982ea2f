package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.seqcore.internal.SeqcoreNativeConstants;

/** Every capability of the C ABI through the Java API. */
class ApiTest {
  static Model frames;
  static Model lm;

  @BeforeAll
  static void load() {
    frames = Model.load(TestFiles.frameModel());
    lm = Model.load(TestFiles.tokenModel());
  }

  @AfterAll
  static void close() {
    frames.close();
    lm.close();
  }

  // ------------------------------------------------------------ versions, enums

  @Test
  void versions() {
    assertEquals(Seqcore.BINDING_VERSION, Seqcore.version());
    assertEquals(Seqcore.BINDING_VERSION_STRING, Seqcore.versionString());
    assertEquals(Seqcore.BINDING_ABI_VERSION, Seqcore.abiVersion());
    String[] parts = Seqcore.versionString().split("\\.");
    assertEquals(3, parts.length);
    assertEquals(Integer.parseInt(parts[0]) * 10000 + Integer.parseInt(parts[1]) * 100
        + Integer.parseInt(parts[2]), Seqcore.version());
  }

  @Test
  void enumsMatchTheHeader() {
    assertEquals(SeqcoreNativeConstants.SEQC_OK, Status.OK.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_INVALID_ARGUMENT, Status.INVALID_ARGUMENT.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_IO, Status.IO.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_SHAPE, Status.SHAPE.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_MISMATCH, Status.MISMATCH.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_BUSY, Status.BUSY.code());
    assertEquals(SeqcoreNativeConstants.SEQC_ERR_INTERNAL, Status.INTERNAL.code());
    for (Status s : Status.values()) {
      if (s != Status.UNKNOWN) {
        assertSame(s, Status.fromCode(s.code()));
        assertNotEquals("unknown status", s.description(), s.name());
      }
    }
    assertSame(Status.UNKNOWN, Status.fromCode(-1000));
    assertSame(Status.UNKNOWN, Status.fromCode(1));
    assertFalse(Status.SHAPE.description().isEmpty());
    assertEquals(SeqcoreNativeConstants.SEQC_OUTPUT_LAST, OutputMode.LAST.code());
    assertEquals(SeqcoreNativeConstants.SEQC_OUTPUT_NONE, OutputMode.NONE.code());
    assertEquals(SeqcoreNativeConstants.SEQC_INPUT_FRAMES, InputKind.FRAMES.code());
    assertEquals(SeqcoreNativeConstants.SEQC_DTYPE_F64, DType.F64.code());
    assertEquals(SeqcoreNativeConstants.SEQC_PLUGIN_MEMORY, PluginKind.MEMORY.code());
    assertEquals(SeqcoreNativeConstants.SEQC_DEVICE_CUDA, Device.CUDA.code());
  }

  // ------------------------------------------------------------ runtime

  @Test
  void cpuRuntime() {
    try (SeqcoreRuntime rt = SeqcoreRuntime.cpu(2)) {
      assertEquals(2, rt.threads());
      assertEquals(Device.CPU, rt.device());
      try (Model m = Model.load(rt, TestFiles.frameModel()); Stream s = m.newStream();
           Stream ref = frames.newStream()) {
        float[] x = TestFiles.scenarioFrames(3);
        TestFiles.assertBits(ref.forward(x, OutputMode.ALL), s.forward(x, OutputMode.ALL));
      }
    }
    try (SeqcoreRuntime rt = SeqcoreRuntime.create(Device.CPU, 0, 1)) {
      assertEquals(1, rt.threads());
    }
    try (SeqcoreRuntime rt = SeqcoreRuntime.cpu(0)) {
      assertTrue(rt.threads() >= 1, "one thread per core");
    }
  }

  @Test
  void cudaRuntimeReportsTheLibraryStatus() {
    if (!Seqcore.hasCuda()) {
      assertEquals(0, Seqcore.cudaDeviceCount());
    }
    if (Seqcore.cudaDeviceCount() == 0) {
      SeqcoreException e = assertThrows(SeqcoreException.class,
          () -> SeqcoreRuntime.create(Device.CUDA, 0, 1));
      assertTrue(e.status() == Status.NO_DEVICE || e.status() == Status.UNSUPPORTED, e.toString());
      assertFalse(e.getMessage().isEmpty());
    } else {
      // A GPU: either a CUDA runtime or the library's "not in this release".
      try (SeqcoreRuntime rt = SeqcoreRuntime.create(Device.CUDA, 0, 1)) {
        assertEquals(Device.CUDA, rt.device());
      } catch (SeqcoreException e) {
        assertEquals(Status.UNSUPPORTED, e.status(), e.toString());
      }
    }
  }

  // ------------------------------------------------------------ models

  @Test
  void frameModelInfo() {
    assertEquals(InputKind.FRAMES, frames.inputKind());
    assertEquals(8, frames.inputWidth());
    assertEquals(16, frames.outputWidth());
    assertFalse(frames.outputIsLogits());
    assertEquals(1, frames.blockCount());
    assertEquals("recurrent/lstm", frames.blocks().get(0).plugin());
    assertTrue(frames.weightBytes() > 0);
    List<StateTensorInfo> layout = frames.stateLayout();
    assertEquals(2, layout.size());
    long total = 0;
    for (StateTensorInfo t : layout) {
      assertEquals(DType.F32, t.dtype());
      assertArrayEquals(new long[] {2, 16}, t.shape());
      assertEquals(t.elements() * 4, t.nbytes());
      total += t.nbytes();
    }
    assertEquals(frames.stateBytes(), total);
    String json = frames.describe();
    assertTrue(json.trim().startsWith("{"), json);
    assertTrue(json.contains("\"recurrent/lstm\""), json);
    assertTrue(json.contains(layout.get(0).name()), json);
  }

  @Test
  void tokenModelInfo() {
    assertEquals(InputKind.TOKENS, lm.inputKind());
    assertEquals(256, lm.inputWidth());
    assertEquals(256, lm.outputWidth());
    assertTrue(lm.outputIsLogits());
    List<String> plugins = new ArrayList<>();
    for (BlockInfo b : lm.blocks()) {
      plugins.add(b.plugin());
      assertFalse(b.name().isEmpty());
    }
    assertEquals(Arrays.asList("layer/embedding", "recurrent/lstm", "layer/linear"), plugins);
    assertEquals(4096, lm.stateBytes());
    assertThrows(UnsupportedOperationException.class, () -> lm.blocks().clear());
  }

  @Test
  void loadFromBytesAndBuffers() throws Exception {
    byte[] bytes = Files.readAllBytes(TestFiles.frameModel());
    float[] x = TestFiles.scenarioFrames(4);
    float[] expected;
    try (Stream s = frames.newStream()) {
      expected = s.forward(x, OutputMode.ALL);
    }
    List<Model> models = new ArrayList<>();
    models.add(Model.fromBytes(bytes));
    ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 3);
    direct.put(new byte[3]).put(bytes).position(3);
    models.add(Model.fromBuffer(direct));
    assertEquals(3, direct.position(), "position unchanged");
    models.add(Model.fromBuffer(ByteBuffer.wrap(bytes)));
    try (FileChannel ch = FileChannel.open(TestFiles.frameModel(), StandardOpenOption.READ)) {
      MappedByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      models.add(Model.fromBuffer(mapped));
    }
    try (SeqcoreRuntime rt = SeqcoreRuntime.cpu(1)) {
      models.add(Model.fromBytes(rt, bytes));
    }
    for (Model m : models) {
      try (m; Stream s = m.newStream()) {
        assertEquals(8, m.inputWidth());
        TestFiles.assertBits(expected, s.forward(x, OutputMode.ALL));
      }
    }
  }

  @Test
  void convertWritesAnEquivalentNativeFile(@TempDir Path dir) {
    Path dst = dir.resolve("converted.safetensors");
    Seqcore.convert(TestFiles.frameModel(), dst);
    assertTrue(Files.isRegularFile(dst));
    float[] x = TestFiles.scenarioFrames(5);
    try (Model m = Model.load(dst); Stream a = m.newStream(); Stream b = frames.newStream()) {
      TestFiles.assertBits(b.forward(x, OutputMode.ALL), a.forward(x, OutputMode.ALL));
    }
  }

  // ------------------------------------------------------------ stepping

  @Test
  void stepForwardAndBuffersAgree() {
    float[] x = TestFiles.scenarioFrames(6);
    try (Stream a = frames.newStream(); Stream b = frames.newStream();
         Stream c = frames.newStream(); Stream d = frames.newStream()) {
      float[] all = a.forward(x, OutputMode.ALL);
      assertEquals(6 * 16, all.length);
      assertEquals(6, a.position());
      FloatBuffer in = TestFiles.directFloats(8);
      FloatBuffer out = TestFiles.directFloats(16);
      FloatBuffer heapIn = FloatBuffer.allocate(10);
      FloatBuffer heapOut = FloatBuffer.allocate(18);
      for (int t = 0; t < 6; t++) {
        float[] frame = Arrays.copyOfRange(x, t * 8, t * 8 + 8);
        float[] row = Arrays.copyOfRange(all, t * 16, t * 16 + 16);
        TestFiles.assertBits(row, b.step(frame));
        // direct buffers, in place
        in.clear();
        in.put(frame).flip();
        c.step(in, out);
        assertEquals(0, out.position());
        assertEquals(8, in.remaining(), "input position unchanged");
        float[] got = new float[16];
        out.duplicate().get(got);
        TestFiles.assertBits(row, got);
        // heap buffers at an offset, copied
        heapIn.clear();
        heapIn.position(2);
        heapIn.put(frame);
        heapIn.position(2);
        heapOut.clear();
        heapOut.position(1).limit(17);
        d.step(heapIn, heapOut);
        assertEquals(1, heapOut.position());
        heapOut.duplicate().get(got);
        TestFiles.assertBits(row, got);
      }
      float[] last = a.forward(x, OutputMode.LAST);
      assertEquals(16, last.length);
      assertEquals(0, a.forward(x, OutputMode.NONE).length);
      assertEquals(18, a.position());
      b.forward(x, OutputMode.NONE);
      b.forward(x, OutputMode.NONE);
      TestFiles.assertBits(a.step(new float[8]), b.step(new float[8]));
      // A direct buffer in the other byte order is copied, with the same result.
      FloatBuffer swapped = ByteBuffer.allocateDirect(32).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
      swapped.put(x, 0, 8).flip();
      FloatBuffer swappedOut = ByteBuffer.allocateDirect(64).order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
      c.reset();
      c.step(swapped, swappedOut);
      float[] got = new float[16];
      swappedOut.get(got);
      TestFiles.assertBits(Arrays.copyOfRange(all, 0, 16), got);
      // An empty output: a state update only.
      d.reset();
      d.step(Arrays.copyOfRange(x, 0, 8), new float[0]);
      assertEquals(1, d.position());
      TestFiles.assertBits(Arrays.copyOfRange(all, 16, 32), d.step(Arrays.copyOfRange(x, 8, 16)));
    }
  }

  @Test
  void resetReplaysFromTheStart() {
    float[] x = TestFiles.scenarioFrames(4);
    try (Stream s = frames.newStream()) {
      float[] first = s.forward(x, OutputMode.ALL);
      s.reset();
      assertEquals(0, s.position());
      TestFiles.assertBits(first, s.forward(x, OutputMode.ALL));
    }
  }

  @Test
  void tokensStepAndForward() {
    int[] prompt = TestFiles.tokens("In the beginning");
    try (Stream a = lm.newStream(); Stream b = lm.newStream(); Stream c = lm.newStream()) {
      float[] all = a.forwardTokens(prompt, OutputMode.ALL);
      assertEquals(prompt.length * 256, all.length);
      float[] logits = null;
      for (int t : prompt) {
        logits = b.stepToken(t);
      }
      TestFiles.assertBits(Arrays.copyOfRange(all, all.length - 256, all.length), logits);
      IntBuffer ids = TestFiles.directInts(prompt.length).put(prompt);
      ids.flip();
      FloatBuffer out = TestFiles.directFloats(256);
      c.forwardTokens(ids, OutputMode.LAST, out);
      float[] got = new float[256];
      out.get(got);
      TestFiles.assertBits(logits, got);
      assertEquals(prompt.length, c.position());
      FloatBuffer out2 = TestFiles.directFloats(256);
      float[] arr = new float[256];
      b.stepToken(' ', arr);
      c.stepToken(' ', out2);
      out2.get(got);
      TestFiles.assertBits(arr, got);
    }
  }

  // ------------------------------------------------------------ sampling, generation

  @Test
  void sampling() {
    try (Stream s = lm.newStream()) {
      float[] logits = s.forwardTokens(TestFiles.tokens("In the"), OutputMode.LAST);
      int argmax = 0;
      for (int i = 1; i < logits.length; i++) {
        if (logits[i] > logits[argmax]) {
          argmax = i;
        }
      }
      assertEquals(argmax, s.sample(logits), "greedy by default");
      FloatBuffer direct = TestFiles.directFloats(256).put(logits);
      direct.flip();
      assertEquals(argmax, s.sample(direct));
      long position = s.position();
      s.setSampling(1.0f, 0, 1.0f);
      s.setSeed(7);
      int[] first = new int[20];
      for (int i = 0; i < first.length; i++) {
        first[i] = s.sample(logits);
      }
      s.setSeed(7);
      for (int i = 0; i < first.length; i++) {
        assertEquals(first[i], s.sample(logits), "same seed, same draws");
      }
      s.setSeed(-1L); // all 64 bits set: a valid unsigned seed
      s.sample(logits);
      assertEquals(position, s.position(), "sampling does not step");
      s.setGreedy();
      assertEquals(argmax, s.sample(logits));
    }
  }

  @Test
  void generation() {
    int[] prompt = TestFiles.tokens("In the beginning");
    try (Stream a = lm.newStream(); Stream b = lm.newStream(); Stream c = lm.newStream()) {
      for (Stream s : Arrays.asList(a, b, c)) {
        s.setSampling(0.8f, 40, 0.95f);
        s.setSeed(99);
      }
      int[] expected = new int[40];
      expected[0] = a.generate(prompt);
      for (int i = 1; i < expected.length; i++) {
        expected[i] = a.generate(expected[i - 1]);
      }
      TokenGenerator gen = b.tokens(prompt, 40);
      List<Integer> got = new ArrayList<>();
      for (int t : gen) {
        got.add(t);
        if (got.size() == 10) {
          break;
        }
      }
      for (int t : gen) { // continues where the first loop stopped
        got.add(t);
      }
      assertEquals(40, got.size());
      assertEquals(40, gen.produced());
      assertFalse(gen.hasNext());
      assertThrows(NoSuchElementException.class, gen::nextInt);
      for (int i = 0; i < 40; i++) {
        assertEquals(expected[i], got.get(i).intValue());
      }
      // The text generator decodes the same bytes.
      TextGenerator text = c.text("In the beginning", 40);
      StringBuilder sb = new StringBuilder();
      for (String piece : text) {
        assertFalse(piece.isEmpty());
        sb.append(piece);
      }
      assertEquals(40, text.bytesGenerated());
      byte[] bytes = new byte[40];
      for (int i = 0; i < 40; i++) {
        bytes[i] = (byte) expected[i];
      }
      assertEquals(new String(bytes, StandardCharsets.UTF_8), sb.toString());
      assertEquals(sb.toString(), text.text());
      IntBuffer direct = TestFiles.directInts(1).put(expected[39]);
      direct.flip();
      int next = c.generate(direct);
      assertEquals(a.generate(expected[39]), next);
    }
    try (Stream s = lm.newStream()) {
      String text = s.generateText("In the beginning", 64);
      assertFalse(text.isEmpty());
      assertEquals(16 + 63, s.position(), "the prompt and every token but the last were fed");
    }
  }

  // ------------------------------------------------------------ snapshots, fork, state

  @Test
  void snapshotRestoreContinuesIdentically() {
    try (Stream a = lm.newStream()) {
      a.setSampling(0.9f, 0, 1.0f);
      a.setSeed(5);
      a.forwardTokens(TestFiles.tokens("And God said"), OutputMode.NONE);
      byte[] snap = a.snapshot();
      assertEquals(a.snapshotSize(), snap.length);
      ByteBuffer direct = ByteBuffer.allocateDirect(snap.length + 8);
      direct.position(4);
      assertEquals(snap.length, a.snapshot(direct));
      assertEquals(4, direct.position());
      byte[] copy = new byte[snap.length];
      direct.duplicate().get(copy);
      assertArrayEquals(snap, copy);
      ByteBuffer heap = ByteBuffer.allocate(snap.length);
      assertEquals(snap.length, a.snapshot(heap));
      assertArrayEquals(snap, heap.array());

      try (Stream b = lm.newStream(); Stream c = lm.newStream()) {
        b.restore(snap);
        direct.limit(4 + snap.length);
        c.restore(direct);
        assertEquals(a.position(), b.position());
        assertEquals(a.position(), c.position());
        int[] ta = a.generateTokens(new int[] {' '}, 30);
        assertArrayEquals(ta, b.generateTokens(new int[] {' '}, 30), "sampler state travels too");
        assertArrayEquals(ta, c.generateTokens(new int[] {' '}, 30));
      }
    }
  }

  @Test
  void forkIsIndependent() {
    float[] x = TestFiles.scenarioFrames(8);
    try (Stream a = frames.newStream()) {
      a.forward(Arrays.copyOf(x, 32), OutputMode.NONE);
      try (Stream b = a.fork()) {
        assertEquals(4, b.position());
        float[] rest = Arrays.copyOfRange(x, 32, 64);
        TestFiles.assertBits(a.forward(rest, OutputMode.ALL), b.forward(rest, OutputMode.ALL));
        b.reset();
        assertEquals(0, b.position());
        assertEquals(8, a.position());
      }
    }
  }

  @Test
  void stateReadWrite() {
    float[] x = TestFiles.scenarioFrames(5);
    try (Stream a = frames.newStream(); Stream fresh = frames.newStream()) {
      a.forward(x, OutputMode.NONE);
      for (StateTensorInfo t : frames.stateLayout()) {
        float[] v = a.readStateFloats(t.name());
        assertEquals(t.elements(), v.length);
        assertTrue(Arrays.stream(toDoubles(v)).anyMatch(d -> d != 0), t.name() + " is nonzero");
        assertEquals(t.nbytes(), a.readState(t.name()).length);
        float[] zero = fresh.readStateFloats(t.name());
        assertTrue(Arrays.stream(toDoubles(zero)).allMatch(d -> d == 0), t.name() + " starts zero");
      }
      // Copy a's state into fresh: both then agree, whatever their positions.
      for (StateTensorInfo t : frames.stateLayout()) {
        fresh.writeStateFloats(t.name(), a.readStateFloats(t.name()));
      }
      assertEquals(0, fresh.position(), "state writes do not move the position");
      TestFiles.assertBits(a.step(Arrays.copyOf(x, 8)), fresh.step(Arrays.copyOf(x, 8)));
      // Zeroing the state gives the outputs of a new stream.
      for (StateTensorInfo t : frames.stateLayout()) {
        a.writeState(t.name(), new byte[(int) t.nbytes()]);
      }
      try (Stream b = frames.newStream()) {
        TestFiles.assertBits(b.forward(x, OutputMode.ALL), a.forward(x, OutputMode.ALL));
      }
    }
  }

  private static double[] toDoubles(float[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i];
    }
    return d;
  }

  // ------------------------------------------------------------ step_many

  @Test
  void stepManyFramesMatchesSingleSteps() {
    float[] x = TestFiles.scenarioFrames(9);
    try (Stream a = frames.newStream(); Stream b = frames.newStream(); Stream c = frames.newStream();
         Stream ra = frames.newStream(); Stream rb = frames.newStream(); Stream rc = frames.newStream()) {
      b.step(Arrays.copyOf(x, 8)); // streams at different positions
      rb.step(Arrays.copyOf(x, 8));
      List<Stream> batch = Arrays.asList(a, b, c);
      float[] rows = Arrays.copyOfRange(x, 8, 32);
      float[] out = Stream.stepMany(batch, rows);
      assertEquals(3 * 16, out.length);
      List<Stream> refs = Arrays.asList(ra, rb, rc);
      for (int i = 0; i < 3; i++) {
        float[] single = refs.get(i).step(Arrays.copyOfRange(rows, i * 8, i * 8 + 8));
        TestFiles.assertBits(single, Arrays.copyOfRange(out, i * 16, i * 16 + 16));
      }
      // A reusable batch, with arrays and with buffers.
      try (StreamBatch sb = new StreamBatch()) {
        sb.add(a);
        sb.add(b);
        sb.add(c);
        assertEquals(3, sb.size());
        assertEquals(batch, sb.streams());
        float[] rows2 = Arrays.copyOfRange(x, 32, 56);
        float[] out2 = new float[48];
        sb.step(rows2, out2);
        FloatBuffer in = TestFiles.directFloats(24).put(Arrays.copyOfRange(x, 48, 72));
        in.flip();
        FloatBuffer outBuf = TestFiles.directFloats(48);
        sb.step(in, outBuf);
        for (int i = 0; i < 3; i++) {
          TestFiles.assertBits(refs.get(i).step(Arrays.copyOfRange(rows2, i * 8, i * 8 + 8)),
              Arrays.copyOfRange(out2, i * 16, i * 16 + 16));
          float[] expect = refs.get(i).step(Arrays.copyOfRange(x, 48 + i * 8, 56 + i * 8));
          float[] got = new float[16];
          outBuf.position(i * 16);
          outBuf.get(got);
          TestFiles.assertBits(expect, got);
        }
        sb.clear();
        assertEquals(0, sb.size());
      }
      assertEquals(3, a.position());
    }
  }

  @Test
  void stepManyTokensMatchesSingleSteps() {
    try (Stream a = lm.newStream(); Stream b = lm.newStream();
         Stream ra = lm.newStream(); Stream rb = lm.newStream()) {
      a.stepToken('I');
      ra.stepToken('I');
      int[] tokens = {'n', 'A'};
      float[] out = Stream.stepManyTokens(Arrays.asList(a, b), tokens);
      TestFiles.assertBits(ra.stepToken('n'), Arrays.copyOfRange(out, 0, 256));
      TestFiles.assertBits(rb.stepToken('A'), Arrays.copyOfRange(out, 256, 512));
      float[] out2 = new float[512];
      Stream.stepManyTokens(Arrays.asList(a, b), new int[] {' ', ' '}, out2);
      try (StreamBatch sb = new StreamBatch(Arrays.asList(a, b))) {
        IntBuffer ids = TestFiles.directInts(2).put(new int[] {'t', 'h'});
        ids.flip();
        FloatBuffer o = TestFiles.directFloats(512);
        sb.stepTokens(ids, o);
        TestFiles.assertBits(ra.stepToken(' '), Arrays.copyOfRange(out2, 0, 256));
        TestFiles.assertBits(rb.stepToken(' '), Arrays.copyOfRange(out2, 256, 512));
        float[] got = new float[512];
        o.get(got);
        TestFiles.assertBits(ra.stepToken('t'), Arrays.copyOfRange(got, 0, 256));
        TestFiles.assertBits(rb.stepToken('h'), Arrays.copyOfRange(got, 256, 512));
      }
    }
  }

  // ------------------------------------------------------------ registry

  @Test
  void registry() {
    List<PluginInfo> plugins = Registry.plugins();
    assertEquals(Registry.count(), plugins.size());
    PluginInfo lstm = null;
    for (PluginInfo p : plugins) {
      assertFalse(p.summary().isEmpty());
      assertTrue(p.version() >= 1);
      if (p.name().equals("recurrent/lstm")) {
        lstm = p;
      }
    }
    assertTrue(lstm != null, "recurrent/lstm is registered");
    assertEquals(PluginKind.RECURRENT, lstm.kind());
    String json = lstm.describe();
    assertTrue(json.trim().startsWith("{"), json);
    assertTrue(json.contains("hidden_size"), json);
    assertEquals(json, Registry.describe("recurrent/lstm"));
  }

  @Test
  void streamModelHandle() {
    try (Stream s = lm.newStream(); Model m = s.model()) {
      assertEquals(256, m.inputWidth());
      assertEquals(lm.describe(), m.describe());
      try (Stream t = m.newStream()) {
        TestFiles.assertBits(s.stepToken('a'), t.stepToken('a'));
      }
    }
  }
}
