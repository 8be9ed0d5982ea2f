package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * 10,000 create/step/close cycles with resident memory bounded.
 *
 * <p>Each cycle creates a stream of the byte-level LM (4 KiB of state), steps
 * it through a float[] and through a direct buffer, generates a token, makes a
 * failed call (an exception built in native code) and closes it. A leak of
 * the stream alone would cost at least 4 KiB a cycle, 40 MiB in all; the
 * bound is {@value #BOUND_MIB} MiB of growth between the reading after a
 * 1,000-cycle warm-up and the reading after the 10,000 cycles (the JVM heap is
 * fixed and pre-touched by the test's -Xms/-Xmx/-XX:+AlwaysPreTouch, so its
 * growth does not count).
 */
class LeakTest {
  static final int CYCLES = 10_000;
  static final int WARMUP = 1_000;
  static final long BOUND_MIB = 8;

  /** Resident set size in bytes, from /proc/self/statm (pages) and the page size. */
  static long rss() throws IOException {
    String[] statm = new String(Files.readAllBytes(Paths.get("/proc/self/statm"))).trim().split("\\s+");
    return Long.parseLong(statm[1]) * pageSize();
  }

  private static long pageSize;

  /** The page size: VmRSS (kB) over statm's resident pages, snapped to a power of two. */
  static long pageSize() throws IOException {
    if (pageSize == 0) {
      long kb = 0;
      for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
      String[] statm = new String(Files.readAllBytes(Paths.get("/proc/self/statm"))).trim().split("\\s+");
      long pages = Long.parseLong(statm[1]);
      long approx = kb * 1024 / Math.max(1, pages);
      long p = 4096;
      while (p * 3 / 2 < approx) {
        p *= 2;
      }
      pageSize = p;
    }
    return pageSize;
  }

  private static void cycles(Model lm, int n, float[] out, FloatBuffer buf) {
    for (int i = 0; i < n; i++) {
      try (Stream s = lm.newStream()) {
        s.stepToken(i & 0xff, out);
        s.stepToken((i * 7) & 0xff, buf);
        s.generate(' ');
        assertThrows(SeqcoreException.class, () -> s.stepToken(-1, out));
      }
    }
  }

  private static void settle() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
    }
  }

  @Test
  void tenThousandCyclesKeepResidentMemoryBounded() throws Exception {
    float[] out = new float[256];
    FloatBuffer buf = TestFiles.directFloats(256);
    try (Model lm = Model.load(TestFiles.tokenModel())) {
      cycles(lm, WARMUP, out, buf);
      settle();
      long before = rss();
      long start = System.nanoTime();
      cycles(lm, CYCLES, out, buf);
      double seconds = (System.nanoTime() - start) / 1e9;
      settle();
      long after = rss();
      long growth = after - before;
      System.out.printf("leak check: %d cycles in %.2f s, RSS %.1f -> %.1f MiB (%+.2f MiB, bound %d MiB)%n",
          CYCLES, seconds, before / 1048576.0, after / 1048576.0, growth / 1048576.0, BOUND_MIB);
      assertTrue(growth < BOUND_MIB << 20,
          "resident memory grew by " + growth + " bytes over " + CYCLES + " cycles");
      assertEquals(256, out.length);
    }
  }
}
