package seqcore

import (
	"testing"
)

// The binding on a CUDA runtime, checked against the CPU. Every test here is
// skipped unless the library was built with CUDA and a CUDA device is
// present.

const gpuSteps = 20

var gpuText = ByteTokens("In the beginning God created the heaven and the earth.")

// gpuModels returns the token model on the CPU and on CUDA device 0 (loaded
// with opts), and the CUDA runtime; it skips the test without a GPU.
func gpuModels(t *testing.T, opts LoadOptions) (cpu, gpu *Model, rt *Runtime) {
	t.Helper()
	if !HasCUDA() || CUDADeviceCount() == 0 {
		t.Skipf("needs a CUDA device (HasCUDA=%v, CUDADeviceCount=%d)", HasCUDA(), CUDADeviceCount())
	}
	rt = must(NewDeviceRuntime(DeviceCUDA, 0, 0)).of(t)
	t.Cleanup(func() { rt.Close() })
	if rt.Device() != DeviceCUDA {
		t.Fatalf("device %v", rt.Device())
	}
	gpu = must(rt.LoadModelWith(tokenModelPath(t), opts)).of(t)
	t.Cleanup(func() { gpu.Close() })
	return tokenModel(t), gpu, rt
}

// within fails unless max |cpu - other| <= rel * max(1, max |cpu|).
func within(t *testing.T, cpu, other []float32, rel float64, what string) {
	t.Helper()
	for i, v := range other {
		if v != v || v > 3.4e38 || v < -3.4e38 {
			t.Fatalf("%s: element %d is %v", what, i, v)
		}
	}
	if d := relDiff(t, cpu, other); d > rel {
		t.Fatalf("%s: max |cpu - gpu| / max(1, max |cpu|) = %g exceeds %g", what, d, rel)
	}
}

func TestGPUStepMatchesCPU(t *testing.T) {
	cpu, gpu, _ := gpuModels(t, LoadOptions{})
	if gpu.WeightDType() != DTypeF32 {
		t.Errorf("weight dtype %v", gpu.WeightDType())
	}
	c, g := mustStream(t, cpu), mustStream(t, gpu)
	for i := 0; i < gpuSteps; i++ {
		within(t, must(c.StepToken(gpuText[i])).of(t), must(g.StepToken(gpuText[i])).of(t), 1e-4, "step")
	}
	if g.Position() != gpuSteps {
		t.Errorf("position %d", g.Position())
	}
}

func TestGPUSnapshotRestoresOnCPU(t *testing.T) {
	cpu, gpu, _ := gpuModels(t, LoadOptions{})
	g, c, back := mustStream(t, gpu), mustStream(t, cpu), mustStream(t, gpu)
	must(g.ForwardTokens(gpuText[:gpuSteps], OutputNone)).of(t)
	check(t, c.Restore(must(g.Snapshot()).of(t)))
	if c.Position() != gpuSteps {
		t.Fatalf("restored at %d", c.Position())
	}
	for i := gpuSteps; i < 2*gpuSteps; i++ {
		within(t, must(c.StepToken(gpuText[i])).of(t), must(g.StepToken(gpuText[i])).of(t), 1e-4, "after restore")
	}
	// And a CPU snapshot restores on the GPU.
	check(t, back.Restore(must(c.Snapshot()).of(t)))
	for i := 2 * gpuSteps; i < 2*gpuSteps+5; i++ {
		within(t, must(c.StepToken(gpuText[i])).of(t), must(back.StepToken(gpuText[i])).of(t), 1e-4, "CPU to GPU")
	}
}

func TestGPUBF16CloseToF32CPU(t *testing.T) {
	cpu, gpu, _ := gpuModels(t, LoadOptions{WeightDType: DTypeBF16})
	if gpu.WeightDType() != DTypeBF16 {
		t.Errorf("weight dtype %v", gpu.WeightDType())
	}
	c, g := mustStream(t, cpu), mustStream(t, gpu)
	for i := 0; i < gpuSteps; i++ {
		within(t, must(c.StepToken(gpuText[i])).of(t), must(g.StepToken(gpuText[i])).of(t), 2e-2, "bf16 step")
	}
}

func TestGPUGenerateMany(t *testing.T) {
	cpu, gpu, _ := gpuModels(t, LoadOptions{})
	greedy := manySettings[0]
	many, lastMany := prefilled(t, gpu, greedy)
	var solo []*Stream
	for _, s := range many {
		f := must(s.Fork()).of(t)
		t.Cleanup(func() { f.Close() })
		solo = append(solo, f)
	}
	onCPU, lastCPU := prefilled(t, cpu, greedy)
	lastSolo := append([]int32(nil), lastMany...)
	agree := []bool{true, true, true}
	agreed := make([]int, 3)
	for step := 0; step < 16; step++ {
		lastMany = must(GenerateMany(many, lastMany)).of(t)
		for i, s := range solo {
			lastSolo[i] = must(s.Generate(lastSolo[i])).of(t)
		}
		for i := range lastMany { // the same backend: exact
			if lastMany[i] != lastSolo[i] {
				t.Fatalf("step %d: GPU GenerateMany gave %v, GPU Generate %v", step, lastMany, lastSolo)
			}
		}
		lastCPU = must(GenerateMany(onCPU, lastCPU)).of(t)
		for i := range agree { // greedy may part on a near-tie: count only
			agree[i] = agree[i] && lastCPU[i] == lastMany[i]
			if agree[i] {
				agreed[i]++
			}
		}
	}
	t.Logf("GPU greedy agrees with the CPU for %v steps of 16", agreed)
	// Per-stream sampling settings and seeds, including more than 64 candidates.
	checkManyEqualsSolo(t, gpu, manySettings[1], 16)
	checkManyEqualsSolo(t, gpu, manySettings[2], 16)
}
