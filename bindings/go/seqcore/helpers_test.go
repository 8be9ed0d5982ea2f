package seqcore

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Test inputs come from the environment meson test sets (binding_test_env);
// run by hand, the files of the source tree are used.
func testFile(t testing.TB, env, fallback string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := filepath.Abs(fallback)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func frameModelPath(t testing.TB) string {
	return testFile(t, "SEQC_TEST_FRAME_MODEL", "../../common/tiny-lstm.safetensors")
}

func tokenModelPath(t testing.TB) string {
	return testFile(t, "SEQC_TEST_TOKEN_MODEL", "../../../models/kjv-lstm.safetensors")
}

// mustLoad loads a model and closes it at the end of the test.
func mustLoad(t testing.TB, path string) *Model {
	t.Helper()
	m, err := LoadModel(path)
	if err != nil {
		t.Fatalf("LoadModel(%s): %v", path, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func frameModel(t testing.TB) *Model { return mustLoad(t, frameModelPath(t)) }
func tokenModel(t testing.TB) *Model { return mustLoad(t, tokenModelPath(t)) }

// mustStream creates a stream and closes it at the end of the test.
func mustStream(t testing.TB, m *Model) *Stream {
	t.Helper()
	s, err := m.NewStream()
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// must(f()).of(t) returns the value of f, failing the test if f failed.
func must[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) of(t testing.TB) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("unexpected error: %v", r.err)
	}
	return r.v
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantStatus fails unless err is an *Error with the given status and a
// message.
func wantStatus(t testing.TB, err error, status Status) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", status)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if e.Status != status || !errors.Is(err, status) {
		t.Fatalf("got %v, want status %v", err, status)
	}
	if e.Message == "" {
		t.Fatalf("error %v has no message", err)
	}
	return e
}

// wantClosed fails unless err says the handle is closed.
func wantClosed(t testing.TB, err error) {
	t.Helper()
	e := wantStatus(t, err, ErrInvalidArgument)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("error %v does not match ErrClosed", e)
	}
}

// sameBits reports whether two float slices are equal bit for bit.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// testFrames is the frame input of the golden scenario: exact binary
// fractions, t positions of width 8.
func testFrames(t int) []float32 {
	x := make([]float32, t*8)
	for i := range x {
		x[i] = float32((i%17)-8) / 8
	}
	return x
}
