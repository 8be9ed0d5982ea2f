package seqcore

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssBytes returns the resident set size of the process, from
// /proc/self/statm (second field, in pages), after a garbage collection that
// returns the free Go heap to the system (so that only live memory counts).
func rssBytes(t *testing.T) int64 {
	t.Helper()
	if raceEnabled {
		t.Skip("resident memory is not meaningful under the race detector")
	}
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// settleHandles runs the garbage collector until no finalizer of an earlier
// test is pending (the count of open handles stops changing) and returns the
// count.
func settleHandles() int64 {
	n := openHandles.Load()
	for stable := 0; stable < 3; {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		if m := openHandles.Load(); m != n {
			n, stable = m, 0
		} else {
			stable++
		}
	}
	return n
}

// waitForHandles runs the garbage collector until the finalizers have
// brought the open handles down to want, or gives up after 10 s.
func waitForHandles(want int64) bool {
	deadline := time.Now().Add(10 * time.Second)
	for openHandles.Load() != want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return openHandles.Load() == want
}

// leakBound is the resident-memory growth allowed over 10,000 cycles. One
// leaked stream of the frame model would cost far more than 400 bytes (its
// state alone is 256 bytes, plus the C++ object and the SWIG struct), so a
// leak of one object per cycle exceeds it.
const leakBound = 4 << 20

// TestLeak runs 10,000 create/step/close cycles (with a failing call, the
// error path, a snapshot and a restore in each) and checks that the resident
// memory stays within leakBound and that every handle is closed.
func TestLeak(t *testing.T) {
	m := frameModel(t)
	tm := tokenModel(t)
	frame := testFrames(1)
	out := make([]float32, 16)
	blob := make([]byte, 4096)
	cycle := func() {
		s, err := m.NewStream()
		check(t, err)
		check(t, s.StepInto(frame, out))
		if err := s.StepInto(frame[:3], out); err == nil { // error path: a recovered panic
			t.Fatal("short frame accepted")
		}
		n, err := s.SnapshotInto(blob)
		check(t, err)
		check(t, s.Restore(blob[:n]))
		check(t, s.Close())

		ts, err := tm.NewStream()
		check(t, err)
		_, err = ts.Generate('a')
		check(t, err)
		if err := ts.WriteState("missing", nil); err == nil { // string argument on the error path
			t.Fatal("unknown state accepted")
		}
		check(t, ts.Close())
	}
	before := openHandles.Load()
	for i := 0; i < 1000; i++ { // warm up allocators and caches
		cycle()
	}
	start := rssBytes(t)
	for i := 0; i < 10000; i++ {
		cycle()
	}
	end := rssBytes(t)
	t.Logf("RSS %d KiB -> %d KiB over 10,000 cycles (growth %d KiB, bound %d KiB)",
		start>>10, end>>10, (end-start)>>10, leakBound>>10)
	if end-start > leakBound {
		t.Errorf("resident memory grew by %d KiB over 10,000 cycles (bound %d KiB)", (end-start)>>10, leakBound>>10)
	}
	if openHandles.Load() != before {
		t.Errorf("%d handles left open", openHandles.Load()-before)
	}
}

// TestLeakLoadErrors: failing loads (error path with a string and a buffer
// argument) do not leak either.
func TestLeakLoadErrors(t *testing.T) {
	data, err := os.ReadFile(frameModelPath(t))
	check(t, err)
	half := data[:len(data)/2]
	path := strings.Repeat("missing/", 64) + "model.safetensors"
	cycle := func() {
		if _, err := LoadModel(path); err == nil {
			t.Fatal("missing file loaded")
		}
		if _, err := LoadModelBytes(half); err == nil {
			t.Fatal("truncated model loaded")
		}
	}
	for i := 0; i < 1000; i++ {
		cycle()
	}
	start := rssBytes(t)
	for i := 0; i < 10000; i++ {
		cycle()
	}
	end := rssBytes(t)
	t.Logf("RSS %d KiB -> %d KiB over 10,000 failing loads", start>>10, end>>10)
	if end-start > leakBound {
		t.Errorf("resident memory grew by %d KiB over 10,000 failing loads (bound %d KiB)", (end-start)>>10, leakBound>>10)
	}
}
