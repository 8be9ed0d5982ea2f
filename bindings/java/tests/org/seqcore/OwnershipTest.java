package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Handles can be closed in any order, twice, or never, without a crash or a surprise. */
class OwnershipTest {
  static void closedError(String kind, Executable code) {
    SeqcoreException e = assertThrows(SeqcoreException.class, code);
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertEquals(kind + " is closed", e.getMessage());
  }

  @Test
  void modelClosedBeforeItsStreams() {
    float[] x = TestFiles.scenarioFrames(6);
    float[] expected;
    try (Model m = Model.load(TestFiles.frameModel()); Stream s = m.newStream()) {
      expected = s.forward(x, OutputMode.ALL);
    }
    Model m = Model.load(TestFiles.frameModel());
    Stream s = m.newStream();
    Stream forked = s.fork();
    m.close();
    assertTrue(m.isClosed());
    assertFalse(s.isClosed());
    TestFiles.assertBits(expected, s.forward(x, OutputMode.ALL));
    try (Model again = s.model(); Stream third = again.newStream()) {
      TestFiles.assertBits(expected, third.forward(x, OutputMode.ALL));
    }
    TestFiles.assertBits(expected, forked.forward(x, OutputMode.ALL));
    s.close();
    forked.close();
  }

  @Test
  void runtimeClosedBeforeItsModel() {
    SeqcoreRuntime rt = SeqcoreRuntime.cpu(1);
    Model m = Model.load(rt, TestFiles.tokenModel());
    rt.close();
    try (Stream s = m.newStream()) {
      m.close();
      assertEquals(256, s.stepToken('a').length);
    }
  }

  @Test
  void closeTwiceIsANoOp() {
    SeqcoreRuntime rt = SeqcoreRuntime.cpu(1);
    Model m = Model.load(rt, TestFiles.frameModel());
    Stream s = m.newStream();
    StreamBatch b = new StreamBatch(Arrays.asList(s));
    for (int i = 0; i < 2; i++) {
      b.close();
      s.close();
      m.close();
      rt.close();
    }
    assertTrue(b.isClosed() && s.isClosed() && m.isClosed() && rt.isClosed());
  }

  @Test
  void closedHandlesThrowAClearError() {
    SeqcoreRuntime rt = SeqcoreRuntime.cpu(1);
    Model m = Model.load(TestFiles.frameModel());
    Stream s = m.newStream();
    StreamBatch b = new StreamBatch();
    rt.close();
    m.close();
    s.close();
    b.close();
    closedError("Runtime", rt::threads);
    closedError("Runtime", rt::device);
    closedError("Runtime", () -> Model.load(rt, TestFiles.frameModel()));
    closedError("Model", m::newStream);
    closedError("Model", m::describe);
    closedError("Model", m::inputWidth);
    closedError("Model", m::stateLayout);
    closedError("Model", () -> new Stream(m));
    closedError("Stream", () -> s.step(new float[8]));
    closedError("Stream", () -> s.step(TestFiles.directFloats(8), TestFiles.directFloats(16)));
    closedError("Stream", s::position);
    closedError("Stream", s::reset);
    closedError("Stream", s::snapshot);
    closedError("Stream", () -> s.restore(new byte[4]));
    closedError("Stream", s::fork);
    closedError("Stream", s::model);
    closedError("Stream", () -> s.setSeed(1));
    closedError("Stream", () -> s.readState("lstm.h"));
    closedError("StreamBatch", b::size);
    closedError("StreamBatch", () -> b.step(new float[8]));
    assertEquals("Stream[closed]", s.toString());
  }

  @Test
  void streamClosedWhileInABatch() {
    try (Model m = Model.load(TestFiles.frameModel()); Stream a = m.newStream();
         StreamBatch batch = new StreamBatch()) {
      Stream b = m.newStream();
      batch.add(a);
      batch.add(b);
      assertEquals(32, batch.step(new float[16]).length);
      b.close();
      closedError("Stream", () -> batch.step(new float[16]));
      assertEquals(1, a.position(), "no stream moved");
      closedError("Stream", () -> batch.add(b));
      batch.clear();
      batch.add(a);
      assertEquals(16, batch.step(new float[8]).length);
      assertEquals(2, a.position());
    }
  }

  @Test
  void forgottenHandlesAreFreedByTheCleaner() throws Exception {
    Model m = Model.load(TestFiles.frameModel());
    for (int i = 0; i < 2000; i++) {
      Stream s = m.newStream(); // never closed
      s.step(new float[8]);
      if (i % 100 == 0) {
        Model.load(TestFiles.frameModel()); // never closed either
      }
    }
    m = null;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(20);
    }
    // Nothing to assert beyond "no crash": the leak test bounds the memory.
    try (Model again = Model.load(TestFiles.frameModel()); Stream s = again.newStream()) {
      assertEquals(16, s.step(new float[8]).length);
    }
  }

  @Test
  void closeRacingWithCallsNeverCrashes() throws Exception {
    try (Model m = Model.load(TestFiles.tokenModel())) {
      for (int round = 0; round < 20; round++) {
        Stream s = m.newStream();
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger steps = new AtomicInteger();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          Thread w = new Thread(() -> {
            float[] out = new float[256];
            FloatBuffer buf = TestFiles.directFloats(256);
            try {
              start.await();
              for (;;) {
                try {
                  s.stepToken('a', out);
                  s.stepToken('b', buf);
                  steps.incrementAndGet();
                } catch (SeqcoreException e) {
                  if (e.status() == Status.BUSY) {
                    continue; // another thread was inside the stream: refused, not corrupted
                  }
                  assertEquals("Stream is closed", e.getMessage());
                  return;
                }
              }
            } catch (Throwable e) {
              unexpected.compareAndSet(null, e);
            }
          });
          w.start();
          workers.add(w);
        }
        start.countDown();
        Thread.sleep(2 + round % 5);
        s.close();
        for (Thread w : workers) {
          w.join(60_000);
          assertFalse(w.isAlive());
        }
        if (unexpected.get() != null) {
          throw new AssertionError(unexpected.get());
        }
      }
    }
  }
}
