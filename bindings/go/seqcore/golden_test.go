package seqcore

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

// golden holds the results of bindings/common/golden.c (the C API) for the
// shared scenario of bindings/common/README.md.
type golden struct {
	frames  []float32 // forward over 12 frames of the frame model, OutputAll
	logits  []float32 // logits after the prompt, OutputLast
	greedy  []int32   // 32 greedy tokens
	sampled []int32   // 32 sampled tokens
}

const goldenPrompt = "In the beginning"

func readGolden(t *testing.T) golden {
	t.Helper()
	path := os.Getenv("SEQC_TEST_GOLDEN")
	if path == "" {
		t.Skip("SEQC_TEST_GOLDEN is not set (meson test sets it)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 2048 {
		t.Fatalf("%s: %d bytes, want 2048", path, len(data))
	}
	word := func(i int) uint32 { return binary.LittleEndian.Uint32(data[4*i:]) }
	var g golden
	i := 0
	for ; i < 192; i++ {
		g.frames = append(g.frames, math.Float32frombits(word(i)))
	}
	for ; i < 192+256; i++ {
		g.logits = append(g.logits, math.Float32frombits(word(i)))
	}
	for ; i < 192+256+32; i++ {
		g.greedy = append(g.greedy, int32(word(i)))
	}
	for ; i < 192+256+64; i++ {
		g.sampled = append(g.sampled, int32(word(i)))
	}
	return g
}

// TestGolden runs the shared scenario and compares every float and token
// with the C results, bit for bit.
func TestGolden(t *testing.T) {
	g := readGolden(t)

	fm := frameModel(t)
	out := must(mustStream(t, fm).Forward(testFrames(12), OutputAll)).of(t)
	if !sameBits(out, g.frames) {
		t.Errorf("frame model forward differs from C:\n go %v\n  c %v", out, g.frames)
	}

	tm := tokenModel(t)
	logits := must(mustStream(t, tm).ForwardTokens(ByteTokens(goldenPrompt), OutputLast)).of(t)
	if !sameBits(logits, g.logits) {
		t.Errorf("prompt logits differ from C")
	}

	generate := func(sampled bool) []int32 {
		s := mustStream(t, tm)
		if sampled {
			check(t, s.SetSampling(0.8, 40, 0.95))
			check(t, s.SetSeed(1234))
		}
		tok := must(s.Generate(ByteTokens(goldenPrompt)...)).of(t)
		tokens := []int32{tok}
		for len(tokens) < 32 {
			tok = must(s.Generate(tok)).of(t)
			tokens = append(tokens, tok)
		}
		return tokens
	}
	if got := generate(false); !equalInt32(got, g.greedy) {
		t.Errorf("greedy generation differs from C:\n go %v\n  c %v", got, g.greedy)
	}
	if got := generate(true); !equalInt32(got, g.sampled) {
		t.Errorf("sampled generation differs from C:\n go %v\n  c %v", got, g.sampled)
	}

	// Steps 3 and 4 at once: the prompt fed to each stream by Generate, then
	// GenerateMany for the other 31 tokens.
	greedy, sampled := mustStream(t, tm), mustStream(t, tm)
	check(t, sampled.SetSampling(0.8, 40, 0.95))
	check(t, sampled.SetSeed(1234))
	last := []int32{
		must(greedy.Generate(ByteTokens(goldenPrompt)...)).of(t),
		must(sampled.Generate(ByteTokens(goldenPrompt)...)).of(t),
	}
	var manyGreedy, manySampled []int32
	for {
		manyGreedy, manySampled = append(manyGreedy, last[0]), append(manySampled, last[1])
		if len(manyGreedy) == 32 {
			break
		}
		last = must(GenerateMany([]*Stream{greedy, sampled}, last)).of(t)
	}
	if !equalInt32(manyGreedy, g.greedy) || !equalInt32(manySampled, g.sampled) {
		t.Errorf("GenerateMany differs from C:\n go %v %v\n  c %v %v", manyGreedy, manySampled, g.greedy, g.sampled)
	}

	// The same tokens through the Generator and through GenerateText.
	s := mustStream(t, tm)
	check(t, s.SetSampling(0.8, 40, 0.95))
	check(t, s.SetSeed(1234))
	gen := s.Generator(ByteTokens(goldenPrompt))
	for i, want := range g.sampled {
		if tok := must(gen.Next()).of(t); tok != want {
			t.Fatalf("Generator token %d: %d, C gave %d", i, tok, want)
		}
	}
	var text []byte
	check(t, mustStream(t, tm).GenerateText(byteWriter{&text}, goldenPrompt, 32))
	for i, want := range g.greedy {
		if int32(text[i]) != want {
			t.Fatalf("GenerateText byte %d: %d, C gave %d", i, text[i], want)
		}
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type byteWriter struct{ b *[]byte }

func (w byteWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}
