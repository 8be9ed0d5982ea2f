package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.seqcore.internal.NativeStream;

/** Error paths: each arrives as the right exception with the library's status and message. */
class ErrorTest {
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

  /** Runs code that must fail with this status and a message; returns the exception. */
  static SeqcoreException fails(Status status, Executable code) {
    SeqcoreException e = assertThrows(SeqcoreException.class, code);
    assertEquals(status, e.status(), e.toString());
    assertEquals(status.code(), e.code());
    assertFalse(e.getMessage().isEmpty(), "a message");
    assertTrue(e.toString().contains("[" + status + "]"), e.toString());
    return e;
  }

  @Test
  void badFiles(@TempDir Path dir) throws Exception {
    SeqcoreException e = fails(Status.IO, () -> Model.load(dir.resolve("missing.safetensors")));
    assertTrue(e.getMessage().contains("missing.safetensors"), e.getMessage());
    Path garbage = dir.resolve("garbage.safetensors");
    Files.write(garbage, "this is not a model".getBytes("UTF-8"));
    fails(Status.FORMAT, () -> Model.load(garbage));
    // A non-ASCII path travels as UTF-8 and comes back in the message intact.
    Path unicode = dir.resolve("mod\u00e8le-\ud83d\ude00.safetensors");
    e = fails(Status.IO, () -> Model.load(unicode));
    assertTrue(e.getMessage().contains("mod\u00e8le-\ud83d\ude00"), e.getMessage());
    Files.copy(TestFiles.frameModel(), unicode);
    try (Model m = Model.load(unicode)) {
      assertEquals(8, m.inputWidth());
    }
    assertThrows(IllegalArgumentException.class, () -> Model.load("bad\0path"));
    fails(Status.IO, () -> Seqcore.convert(dir.resolve("nope"), dir.resolve("out")));
  }

  @Test
  void truncatedAndCorruptBuffers() throws Exception {
    byte[] bytes = Files.readAllBytes(TestFiles.frameModel());
    fails(Status.FORMAT, () -> Model.fromBytes(Arrays.copyOf(bytes, bytes.length / 2)));
    fails(Status.FORMAT, () -> Model.fromBytes(Arrays.copyOf(bytes, 7)));
    fails(Status.FORMAT, () -> Model.fromBytes(new byte[0]));
    ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length);
    direct.put(bytes).flip().limit(bytes.length - 10);
    fails(Status.FORMAT, () -> Model.fromBuffer(direct));
  }

  @Test
  void wrongShapes() {
    try (Stream s = frames.newStream()) {
      fails(Status.SHAPE, () -> s.step(new float[7]));
      fails(Status.SHAPE, () -> s.step(new float[9]));
      fails(Status.BUFFER_TOO_SMALL, () -> s.step(new float[8], new float[15]));
      fails(Status.SHAPE, () -> s.forward(new float[12], OutputMode.ALL));
      fails(Status.BUFFER_TOO_SMALL, () -> s.forward(new float[16], OutputMode.ALL, new float[16]));
      FloatBuffer in = TestFiles.directFloats(8);
      in.limit(6);
      fails(Status.SHAPE, () -> s.step(in, TestFiles.directFloats(16)));
      assertEquals(0, s.position(), "failed calls do not advance the stream");
      fails(Status.INVALID_ARGUMENT, () -> s.stepToken(1));
      fails(Status.INVALID_ARGUMENT, () -> s.forwardTokens(new int[] {1, 2}, OutputMode.LAST));
      fails(Status.INVALID_ARGUMENT, () -> s.generate(1));
      assertEquals(0, s.position());
    }
    try (Stream s = lm.newStream()) {
      fails(Status.INVALID_ARGUMENT, () -> s.step(new float[256]));
      fails(Status.SHAPE, () -> s.sample(new float[255]));
      fails(Status.BUFFER_TOO_SMALL, () -> s.stepToken(1, new float[10]));
      fails(Status.INVALID_ARGUMENT, () -> s.generate(new int[0]));
      assertEquals(0, s.position());
    }
  }

  @Test
  void tokensOutOfRange() {
    try (Stream s = lm.newStream()) {
      fails(Status.INVALID_ARGUMENT, () -> s.stepToken(256));
      fails(Status.INVALID_ARGUMENT, () -> s.stepToken(-1));
      fails(Status.INVALID_ARGUMENT, () -> s.forwardTokens(new int[] {1, 2, 300}, OutputMode.ALL));
      fails(Status.INVALID_ARGUMENT, () -> s.generate(65, 1000));
      fails(Status.INVALID_ARGUMENT, () -> s.tokens(new int[] {-5}, 3).nextInt());
      assertEquals(0, s.position(), "refused before any state changes");
    }
  }

  @Test
  void badSnapshots() {
    try (Stream f = frames.newStream(); Stream t = lm.newStream()) {
      f.step(new float[8]);
      byte[] foreign = f.snapshot();
      fails(Status.MISMATCH, () -> t.restore(foreign));
      t.stepToken('x');
      byte[] snap = t.snapshot();
      long position = t.position();
      byte[] flipped = snap.clone();
      flipped[flipped.length / 2] ^= 0x40;
      SeqcoreException e = assertThrows(SeqcoreException.class, () -> t.restore(flipped));
      assertTrue(e.status() == Status.CHECKSUM || e.status() == Status.FORMAT, e.toString());
      fails(Status.FORMAT, () -> t.restore(Arrays.copyOf(snap, snap.length - 1)));
      fails(Status.FORMAT, () -> t.restore(new byte[0]));
      fails(Status.FORMAT, () -> t.restore("not a snapshot at all".getBytes()));
      assertEquals(position, t.position(), "a refused snapshot leaves the stream unchanged");
      fails(Status.BUFFER_TOO_SMALL, () -> t.snapshot(ByteBuffer.allocateDirect(snap.length - 1)));
    }
  }

  @Test
  void badStateAccess() {
    try (Stream s = frames.newStream()) {
      fails(Status.NOT_FOUND, () -> s.readState("no.such.tensor"));
      fails(Status.NOT_FOUND, () -> s.writeState("no.such.tensor", new byte[4]));
      String name = frames.stateLayout().get(0).name();
      fails(Status.SHAPE, () -> s.writeState(name, new byte[3]));
      fails(Status.SHAPE, () -> s.writeStateFloats(name, new float[1]));
    }
  }

  @Test
  void badSampling() {
    try (Stream s = lm.newStream()) {
      fails(Status.INVALID_ARGUMENT, () -> s.setSampling(-1f, 0, 1f));
      fails(Status.INVALID_ARGUMENT, () -> s.setSampling(Float.NaN, 0, 1f));
      fails(Status.INVALID_ARGUMENT, () -> s.setSampling(1f, 0, 0f));
      fails(Status.INVALID_ARGUMENT, () -> s.setSampling(1f, 0, 1.5f));
      fails(Status.INVALID_ARGUMENT, () -> s.setSampling(1f, -1, 1f));
    }
  }

  @Test
  void badStepMany() {
    try (Stream a = frames.newStream(); Stream b = frames.newStream(); Stream t = lm.newStream()) {
      fails(Status.MISMATCH, () -> Stream.stepMany(Arrays.asList(a, t), new float[16]));
      fails(Status.INVALID_ARGUMENT, () -> Stream.stepMany(Arrays.asList(a, a), new float[16]));
      fails(Status.SHAPE, () -> Stream.stepMany(Arrays.asList(a, b), new float[15]));
      fails(Status.SHAPE, () -> Stream.stepManyTokens(Arrays.asList(t), new int[] {1, 2}));
      assertEquals(0, a.position());
      assertEquals(0, b.position());
    }
  }

  @Test
  void registryErrors() {
    fails(Status.NOT_FOUND, () -> Registry.describe("recurrent/nope"));
  }

  @Test
  void nullArgumentsThrowNullPointerException() {
    try (Stream s = frames.newStream(); Stream t = lm.newStream()) {
      assertThrows(NullPointerException.class, () -> s.step((float[]) null));
      assertThrows(NullPointerException.class, () -> s.step(new float[8], (float[]) null));
      assertThrows(NullPointerException.class, () -> s.step((FloatBuffer) null, TestFiles.directFloats(16)));
      assertThrows(NullPointerException.class, () -> s.step(TestFiles.directFloats(8), null));
      assertThrows(NullPointerException.class, () -> s.forward((float[]) null, OutputMode.ALL));
      assertThrows(NullPointerException.class, () -> s.forward(new float[8], null));
      assertThrows(NullPointerException.class, () -> t.forwardTokens((int[]) null, OutputMode.ALL));
      assertThrows(NullPointerException.class, () -> t.generate((int[]) null));
      assertThrows(NullPointerException.class, () -> t.sample((float[]) null));
      assertThrows(NullPointerException.class, () -> t.restore((byte[]) null));
      assertThrows(NullPointerException.class, () -> t.readState(null));
      assertThrows(NullPointerException.class, () -> Model.fromBytes(null));
      assertThrows(NullPointerException.class, () -> Model.load((Path) null));
      assertThrows(NullPointerException.class, () -> new Stream(null));
      assertThrows(NullPointerException.class, () -> Stream.stepMany(null, new float[8]));
      assertThrows(NullPointerException.class, () -> Registry.describe(null));
      assertEquals(0, s.position());
    }
  }

  @Test
  void buffersThatCannotBeUsed() {
    try (Stream s = frames.newStream()) {
      FloatBuffer readOnly = TestFiles.directFloats(16).asReadOnlyBuffer();
      assertThrows(ReadOnlyBufferException.class, () -> s.step(TestFiles.directFloats(8), readOnly));
      // A direct float view one byte off alignment is refused, not dereferenced.
      ByteBuffer raw = ByteBuffer.allocateDirect(64);
      raw.position(1);
      FloatBuffer misaligned = raw.slice().order(ByteOrder.nativeOrder()).asFloatBuffer();
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> s.step(misaligned, TestFiles.directFloats(16)));
      assertTrue(e.getMessage().contains("aligned"), e.getMessage());
      assertEquals(0, s.position());
    }
  }

  /** Run in a child JVM without the JNI library: prints what loading it raised. */
  public static final class LoadProbe {
    public static void main(String[] args) {
      try {
        System.out.println("loaded " + Seqcore.versionString());
      } catch (UnsatisfiedLinkError e) {
        System.out.println(e.getMessage());
      }
    }
  }

  @Test
  void missingJniLibraryGivesAClearError(@TempDir Path empty) throws Exception {
    String javaBin = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    String classpath = Paths.get(Seqcore.class.getProtectionDomain().getCodeSource().getLocation().toURI())
        + java.io.File.pathSeparator
        + Paths.get(ErrorTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Process p = new ProcessBuilder(javaBin, "-Djava.library.path=" + empty, "-cp", classpath,
        LoadProbe.class.getName()).redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(out.contains("cannot load the JNI library libseqcore_java.so"), out);
    assertTrue(out.contains("java.library.path"), out);
  }

  @Test
  void jniLayerRejectsWrongTypes() {
    // The generated layer is not API, but even misused it raises, never crashes.
    try (Model m = Model.load(TestFiles.frameModel())) {
      NativeStream raw = new NativeStream(m.nat);
      try {
        assertThrows(IllegalArgumentException.class, () -> raw.step(new int[8], new float[16]));
        assertThrows(IllegalArgumentException.class, () -> raw.step("frame", new float[16]));
        assertThrows(IllegalArgumentException.class,
            () -> raw.step(new float[8], ByteBuffer.allocateDirect(64)));
        assertThrows(NullPointerException.class, () -> raw.step(null, new float[16]));
        float[] out = new float[16];
        raw.step(new float[8], out);
        assertEquals(1, raw.position());
        SeqcoreException e = assertThrows(SeqcoreException.class, () -> raw.step(new float[3], out));
        assertEquals(Status.SHAPE, e.status());
        // Output arrays are left untouched by a failed call.
        float[] before = out.clone();
        assertThrows(SeqcoreException.class, () -> raw.step(new float[3], out));
        assertArrayEquals(before, out);
      } finally {
        raw.delete();
      }
    }
  }
}
