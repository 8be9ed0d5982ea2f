package org.seqcore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The binding on a CUDA runtime, checked against the CPU. Every test is
 * skipped (JUnit assumption) unless the library was built with CUDA and a
 * CUDA device is present.
 */
class GpuTest {
  static final int STEPS = 20;
  static final int[] TEXT =
      TestFiles.tokens("In the beginning God created the heaven and the earth.");
  static SeqcoreRuntime gpu;
  static Model cpuModel;
  static Model gpuModel;

  static boolean haveGpu() {
    return Seqcore.hasCuda() && Seqcore.cudaDeviceCount() > 0;
  }

  @BeforeAll
  static void load() {
    if (!haveGpu()) {
      System.out.println("GpuTest: skipped, no CUDA device (hasCuda=" + Seqcore.hasCuda()
          + ", cudaDeviceCount=" + Seqcore.cudaDeviceCount() + ")");
      return;
    }
    gpu = SeqcoreRuntime.create(Device.CUDA, 0, 0);
    cpuModel = Model.load(TestFiles.tokenModel());
    gpuModel = Model.load(gpu, TestFiles.tokenModel());
  }

  @AfterAll
  static void close() {
    for (Handle h : new Handle[] {gpuModel, cpuModel, gpu}) {
      if (h != null) {
        h.close();
      }
    }
  }

  static void requireGpu() {
    Assumptions.assumeTrue(haveGpu(), "needs a CUDA device (hasCuda=" + Seqcore.hasCuda()
        + ", cudaDeviceCount=" + Seqcore.cudaDeviceCount() + ")");
  }

  /** max |cpu - other| <= rel * max(1, max |cpu|). */
  static void within(float[] cpu, float[] other, double rel, String what) {
    assertEquals(cpu.length, other.length);
    double err = 0, scale = 1;
    for (int i = 0; i < cpu.length; i++) {
      assertTrue(Float.isFinite(other[i]), what + ": element " + i + " is " + other[i]);
      err = Math.max(err, Math.abs((double) cpu[i] - other[i]));
      scale = Math.max(scale, Math.abs(cpu[i]));
    }
    assertTrue(err <= rel * scale, what + ": max |cpu - gpu| = " + err + " exceeds " + rel * scale);
  }

  @Test
  void stepMatchesCpu() {
    requireGpu();
    assertEquals(Device.CUDA, gpu.device());
    assertEquals(DType.F32, gpuModel.weightDType());
    try (Stream c = cpuModel.newStream(); Stream g = gpuModel.newStream()) {
      for (int i = 0; i < STEPS; i++) {
        within(c.stepToken(TEXT[i]), g.stepToken(TEXT[i]), 1e-4, "step " + i);
      }
      assertEquals(STEPS, g.position());
    }
  }

  @Test
  void snapshotOnGpuRestoresOnCpu() {
    requireGpu();
    try (Stream g = gpuModel.newStream(); Stream c = cpuModel.newStream(); Stream back = gpuModel.newStream()) {
      g.forwardTokens(Arrays.copyOf(TEXT, STEPS), OutputMode.NONE);
      c.restore(g.snapshot());
      assertEquals(STEPS, c.position());
      for (int i = STEPS; i < 2 * STEPS; i++) {
        within(c.stepToken(TEXT[i]), g.stepToken(TEXT[i]), 1e-4, "step " + i);
      }
      back.restore(c.snapshot()); // and a CPU snapshot on the GPU
      for (int i = 2 * STEPS; i < 2 * STEPS + 5; i++) {
        within(c.stepToken(TEXT[i]), back.stepToken(TEXT[i]), 1e-4, "step " + i);
      }
    }
  }

  @Test
  void bf16WeightsCloseToF32Cpu() {
    requireGpu();
    try (Model m = Model.load(gpu, TestFiles.tokenModel(), LoadOptions.defaults().withWeightDType(DType.BF16));
         Stream c = cpuModel.newStream(); Stream g = m.newStream()) {
      assertEquals(DType.BF16, m.weightDType());
      for (int i = 0; i < STEPS; i++) {
        within(c.stepToken(TEXT[i]), g.stepToken(TEXT[i]), 2e-2, "bf16 step " + i);
      }
    }
  }

  @Test
  void generateManyEqualsSoloGenerateOnGpu() {
    requireGpu();
    float[][] greedy = {{0, 0, 1}, {0, 0, 1}, {0, 0, 1}};
    List<Stream> gpuMany = GenerateManyTest.prefilled(gpuModel, greedy);
    List<Stream> gpuSolo = new ArrayList<>();
    for (Stream s : gpuMany) {
      gpuSolo.add(s.fork());
    }
    List<Stream> cpu = GenerateManyTest.prefilled(cpuModel, greedy);
    try {
      int[] lastMany = GenerateManyTest.lastTokens();
      int[] lastSolo = GenerateManyTest.lastTokens();
      int[] lastCpu = GenerateManyTest.lastTokens();
      int[] agreed = new int[3];
      boolean[] agree = {true, true, true};
      for (int step = 0; step < 16; step++) {
        lastMany = Stream.generateMany(gpuMany, lastMany);
        for (int i = 0; i < 3; i++) {
          lastSolo[i] = gpuSolo.get(i).generate(lastSolo[i]);
        }
        assertArrayEquals(lastSolo, lastMany, "GPU generateMany vs GPU generate, step " + step);
        lastCpu = Stream.generateMany(cpu, lastCpu);
        for (int i = 0; i < 3; i++) { // greedy may part on a near-tie: count only
          agree[i] = agree[i] && lastCpu[i] == lastMany[i];
          agreed[i] += agree[i] ? 1 : 0;
        }
      }
      System.out.println("GpuTest: GPU greedy agrees with the CPU for " + Arrays.toString(agreed)
          + " steps of 16");
    } finally {
      for (List<Stream> l : Arrays.asList(gpuMany, gpuSolo, cpu)) {
        for (Stream s : l) {
          s.close();
        }
      }
    }
    // Per-stream sampling settings and seeds, including more than 64 candidates.
    GenerateManyTest.assertManyEqualsSolo(gpuModel, GenerateManyTest.SETTINGS[1], 16);
    GenerateManyTest.assertManyEqualsSolo(gpuModel, GenerateManyTest.SETTINGS[2], 16);
  }
}
