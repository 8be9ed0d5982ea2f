package seqcore

import (
	"bytes"
	"math"
	"os"
	"testing"
)

// Load options (the weight dtype) and GenerateMany (libseqcore 0.3), on the
// CPU. The same on a GPU: gpu_test.go.

// relDiff returns max |a - b| / max(1, max |a|).
func relDiff(t testing.TB, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	err, scale := 0.0, 1.0
	for i := range a {
		err = math.Max(err, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(a[i])))
	}
	return err / scale
}

func TestWeightDType(t *testing.T) {
	path := tokenModelPath(t)
	if m := tokenModel(t); m.WeightDType() != DTypeF32 {
		t.Errorf("default weight dtype %v", m.WeightDType())
	}
	data, err := os.ReadFile(path)
	check(t, err)
	rt := must(NewRuntime(1)).of(t)
	defer rt.Close()
	for _, dt := range []DType{DTypeF32, DTypeBF16, DTypeF16} {
		opts := LoadOptions{WeightDType: dt}
		loads := []func() (*Model, error){
			func() (*Model, error) { return LoadModelWith(path, opts) },
			func() (*Model, error) { return LoadModelBytesWith(data, opts) },
			func() (*Model, error) { return rt.LoadModelWith(path, opts) },
			func() (*Model, error) { return rt.LoadModelBytesWith(data, opts) },
		}
		for i, load := range loads {
			m := must(load()).of(t)
			if m.WeightDType() != dt {
				t.Errorf("load %d with %v: weight dtype %v", i, dt, m.WeightDType())
			}
			check(t, m.Close())
			if m.WeightDType() != dt { // information outlives Close
				t.Errorf("after Close: %v", m.WeightDType())
			}
		}
	}
	for _, bad := range []DType{DTypeI8, DTypeF64, DTypeI32, 99, -1, DType(math.MaxInt32 + 1)} {
		_, err := LoadModelWith(path, LoadOptions{WeightDType: bad})
		wantStatus(t, err, ErrDType)
		_, err = rt.LoadModelBytesWith(data, LoadOptions{WeightDType: bad})
		wantStatus(t, err, ErrDType)
	}
	check(t, rt.Close())
	_, err = rt.LoadModelWith(path, LoadOptions{})
	wantClosed(t, err)
}

func TestReducedPrecisionCloseToF32(t *testing.T) {
	ref := tokenModel(t)
	for _, dt := range []DType{DTypeBF16, DTypeF16} {
		m := must(LoadModelWith(tokenModelPath(t), LoadOptions{WeightDType: dt})).of(t)
		a, b := mustStream(t, ref), mustStream(t, m)
		for _, tok := range ByteTokens("In the beginning God") {
			la, lb := must(a.StepToken(tok)).of(t), must(b.StepToken(tok)).of(t)
			if d := relDiff(t, la, lb); d > 2e-2 {
				t.Fatalf("%v: relative difference %g", dt, d)
			}
		}
		// Snapshots move between precisions.
		c := mustStream(t, ref)
		check(t, c.Restore(must(b.Snapshot()).of(t)))
		if c.Position() != b.Position() {
			t.Errorf("restored at %d, want %d", c.Position(), b.Position())
		}
		check(t, m.Close())
	}
}

var manyPrompts = []string{"In the beginning", "And God said", "Let there be light"}

type samplingSettings struct {
	temperature float32
	topK        int
	topP        float32
}

var manySettings = [][]samplingSettings{
	{{0, 0, 1}, {0, 0, 1}, {0, 0, 1}},
	{{0, 0, 1}, {0.8, 40, 0.95}, {1, 0, 1}},
	{{1.2, 100, 1}, {0.7, 5, 0.9}, {0, 1, 1}},
}

// prefilled returns one stream per prompt, fed all of it but its last byte,
// with its own sampling settings and seed, and the last bytes.
func prefilled(t testing.TB, m *Model, settings []samplingSettings) ([]*Stream, []int32) {
	t.Helper()
	var streams []*Stream
	var last []int32
	for i, p := range manyPrompts {
		s := mustStream(t, m)
		check(t, s.SetSampling(settings[i].temperature, settings[i].topK, settings[i].topP))
		check(t, s.SetSeed(uint64(100+i)))
		must(s.ForwardTokens(ByteTokens(p[:len(p)-1]), OutputNone)).of(t)
		streams = append(streams, s)
		last = append(last, int32(p[len(p)-1]))
	}
	return streams, last
}

// checkManyEqualsSolo runs GenerateMany on streams of m and Generate on
// forks of them, and requires the same tokens and the same final states.
func checkManyEqualsSolo(t *testing.T, m *Model, settings []samplingSettings, steps int) {
	t.Helper()
	many, lastMany := prefilled(t, m, settings)
	var solo []*Stream
	for _, s := range many {
		f := must(s.Fork()).of(t)
		t.Cleanup(func() { f.Close() })
		solo = append(solo, f)
	}
	lastSolo := append([]int32(nil), lastMany...)
	into := make([]int32, len(many))
	for step := 0; step < steps; step++ {
		if step%2 == 0 {
			lastMany = must(GenerateMany(many, lastMany)).of(t)
		} else {
			check(t, GenerateManyInto(many, lastMany, into))
			copy(lastMany, into)
		}
		for i, s := range solo {
			lastSolo[i] = must(s.Generate(lastSolo[i])).of(t)
		}
		for i := range lastMany {
			if lastMany[i] != lastSolo[i] {
				t.Fatalf("step %d: GenerateMany gave %v, Generate %v", step, lastMany, lastSolo)
			}
		}
	}
	for i := range many {
		if !bytes.Equal(must(many[i].Snapshot()).of(t), must(solo[i].Snapshot()).of(t)) {
			t.Errorf("stream %d: states differ", i)
		}
	}
}

func TestGenerateMany(t *testing.T) {
	m := tokenModel(t)
	for _, settings := range manySettings {
		checkManyEqualsSolo(t, m, settings, 24)
	}
	if out, err := GenerateMany(nil, nil); err != nil || len(out) != 0 {
		t.Errorf("GenerateMany of no streams: %v %v", out, err)
	}
}

func TestGenerateManyErrors(t *testing.T) {
	m := tokenModel(t)
	a, b := mustStream(t, m), mustStream(t, m)
	must(a.ForwardTokens(ByteTokens("abc"), OutputNone)).of(t)
	sa, sb := must(a.Snapshot()).of(t), must(b.Snapshot()).of(t)
	ab := []*Stream{a, b}

	_, err := GenerateMany([]*Stream{a, a}, []int32{1, 2})
	wantStatus(t, err, ErrInvalidArgument)
	_, err = GenerateMany([]*Stream{a, nil}, []int32{1, 2})
	wantStatus(t, err, ErrInvalidArgument)
	_, err = GenerateMany(ab, []int32{1, 256})
	wantStatus(t, err, ErrInvalidArgument)
	_, err = GenerateMany(ab, []int32{-1, 2})
	wantStatus(t, err, ErrInvalidArgument)
	_, err = GenerateMany(ab, []int32{1})
	wantStatus(t, err, ErrShape)
	_, err = GenerateMany(ab, []int32{1, 2, 3})
	wantStatus(t, err, ErrShape)
	wantStatus(t, GenerateManyInto(ab, []int32{1, 2}, make([]int32, 1)), ErrShape)
	wantStatus(t, GenerateManyInto(ab, []int32{1, 2}, nil), ErrShape)
	other := mustStream(t, tokenModel(t))
	_, err = GenerateMany([]*Stream{a, other}, []int32{1, 2})
	wantStatus(t, err, ErrMismatch)
	f := mustStream(t, frameModel(t))
	_, err = GenerateMany([]*Stream{f}, []int32{1})
	wantStatus(t, err, ErrInvalidArgument)
	if !bytes.Equal(must(a.Snapshot()).of(t), sa) || !bytes.Equal(must(b.Snapshot()).of(t), sb) {
		t.Errorf("a failed GenerateMany changed a stream")
	}
	check(t, b.Close())
	_, err = GenerateMany(ab, []int32{1, 2})
	wantClosed(t, err)
	if !bytes.Equal(must(a.Snapshot()).of(t), sa) {
		t.Errorf("a failed GenerateMany changed a stream")
	}
}
