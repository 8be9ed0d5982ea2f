package seqcore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

func TestVersions(t *testing.T) {
	if Version() != HeaderVersion() {
		t.Errorf("library version %d, header %d", Version(), HeaderVersion())
	}
	if ABIVersion() != HeaderABIVersion() {
		t.Errorf("library ABI %d, header %d", ABIVersion(), HeaderABIVersion())
	}
	v := Version()
	if want := fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100); VersionString() != want {
		t.Errorf("VersionString %q, Version %d", VersionString(), v)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(VersionString()) {
		t.Errorf("VersionString %q", VersionString())
	}
	if n := CUDADeviceCount(); n < 0 || (!HasCUDA() && n != 0) {
		t.Errorf("HasCUDA %v, CUDADeviceCount %d", HasCUDA(), n)
	}
}

// The typed constants of this package must be the C ABI's values.
func TestConstantsMatchABI(t *testing.T) {
	pairs := []struct {
		name    string
		got, io int
	}{
		{"OK", int(OK), cseqcore.SEQC_OK},
		{"INVALID_ARGUMENT", int(ErrInvalidArgument), cseqcore.SEQC_ERR_INVALID_ARGUMENT},
		{"OUT_OF_MEMORY", int(ErrOutOfMemory), cseqcore.SEQC_ERR_OUT_OF_MEMORY},
		{"IO", int(ErrIO), cseqcore.SEQC_ERR_IO},
		{"FORMAT", int(ErrFormat), cseqcore.SEQC_ERR_FORMAT},
		{"VERSION", int(ErrVersion), cseqcore.SEQC_ERR_VERSION},
		{"CHECKSUM", int(ErrChecksum), cseqcore.SEQC_ERR_CHECKSUM},
		{"CONFIG", int(ErrConfig), cseqcore.SEQC_ERR_CONFIG},
		{"UNKNOWN_PLUGIN", int(ErrUnknownPlugin), cseqcore.SEQC_ERR_UNKNOWN_PLUGIN},
		{"MISSING_TENSOR", int(ErrMissingTensor), cseqcore.SEQC_ERR_MISSING_TENSOR},
		{"SHAPE", int(ErrShape), cseqcore.SEQC_ERR_SHAPE},
		{"DTYPE", int(ErrDType), cseqcore.SEQC_ERR_DTYPE},
		{"MISMATCH", int(ErrMismatch), cseqcore.SEQC_ERR_MISMATCH},
		{"BUFFER_TOO_SMALL", int(ErrBufferTooSmall), cseqcore.SEQC_ERR_BUFFER_TOO_SMALL},
		{"NOT_FOUND", int(ErrNotFound), cseqcore.SEQC_ERR_NOT_FOUND},
		{"UNSUPPORTED", int(ErrUnsupported), cseqcore.SEQC_ERR_UNSUPPORTED},
		{"NO_DEVICE", int(ErrNoDevice), cseqcore.SEQC_ERR_NO_DEVICE},
		{"BUSY", int(ErrBusy), cseqcore.SEQC_ERR_BUSY},
		{"INTERNAL", int(ErrInternal), cseqcore.SEQC_ERR_INTERNAL},
		{"DEVICE_CPU", int(DeviceCPU), cseqcore.SEQC_DEVICE_CPU},
		{"DEVICE_CUDA", int(DeviceCUDA), cseqcore.SEQC_DEVICE_CUDA},
		{"DTYPE_F32", int(DTypeF32), cseqcore.SEQC_DTYPE_F32},
		{"DTYPE_F16", int(DTypeF16), cseqcore.SEQC_DTYPE_F16},
		{"DTYPE_BF16", int(DTypeBF16), cseqcore.SEQC_DTYPE_BF16},
		{"DTYPE_I8", int(DTypeI8), cseqcore.SEQC_DTYPE_I8},
		{"DTYPE_I32", int(DTypeI32), cseqcore.SEQC_DTYPE_I32},
		{"DTYPE_U8", int(DTypeU8), cseqcore.SEQC_DTYPE_U8},
		{"DTYPE_I64", int(DTypeI64), cseqcore.SEQC_DTYPE_I64},
		{"DTYPE_F64", int(DTypeF64), cseqcore.SEQC_DTYPE_F64},
		{"INPUT_TOKENS", int(InputTokens), cseqcore.SEQC_INPUT_TOKENS},
		{"INPUT_FRAMES", int(InputFrames), cseqcore.SEQC_INPUT_FRAMES},
		{"PLUGIN_LAYER", int(PluginLayer), cseqcore.SEQC_PLUGIN_LAYER},
		{"PLUGIN_RECURRENT", int(PluginRecurrent), cseqcore.SEQC_PLUGIN_RECURRENT},
		{"PLUGIN_QUANTIZER", int(PluginQuantizer), cseqcore.SEQC_PLUGIN_QUANTIZER},
		{"PLUGIN_MEMORY", int(PluginMemory), cseqcore.SEQC_PLUGIN_MEMORY},
		{"OUTPUT_ALL", int(OutputAll), cseqcore.SEQC_OUTPUT_ALL},
		{"OUTPUT_LAST", int(OutputLast), cseqcore.SEQC_OUTPUT_LAST},
		{"OUTPUT_NONE", int(OutputNone), cseqcore.SEQC_OUTPUT_NONE},
	}
	for _, p := range pairs {
		if p.got != p.io {
			t.Errorf("%s: Go %d, C %d", p.name, p.got, p.io)
		}
	}
}

func TestStatusAndError(t *testing.T) {
	if ErrShape.String() == "unknown status" || ErrShape.String() == "" {
		t.Errorf("ErrShape.String() = %q", ErrShape.String())
	}
	for _, s := range []Status{1, -999, Status(math.MaxInt32) + 1} {
		if s.String() != "unknown status" {
			t.Errorf("Status(%d).String() = %q", int(s), s.String())
		}
	}
	err := error(&Error{Status: ErrShape, Message: "in holds 7 floats"})
	if !errors.Is(err, ErrShape) || errors.Is(err, ErrFormat) || errors.Is(err, ErrClosed) {
		t.Errorf("errors.Is on %v", err)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", err), &Error{Status: ErrShape}) {
		t.Errorf("errors.Is through a wrap")
	}
	if got := err.Error(); got != "seqcore: "+ErrShape.String()+": in holds 7 floats" {
		t.Errorf("Error() = %q", got)
	}
	if !strings.HasPrefix(ErrBusy.Error(), "seqcore: ") {
		t.Errorf("Status.Error() = %q", ErrBusy.Error())
	}
	names := map[string]bool{}
	for s := ErrInternal; s <= OK; s++ {
		names[s.String()] = true
	}
	if len(names) != 19 {
		t.Errorf("status strings are not distinct: %v", names)
	}
	if DTypeBF16.String() != "bf16" || DTypeF64.Size() != 8 || DType(42).Size() != 0 ||
		InputFrames.String() != "frames" || PluginMemory.String() != "memory" ||
		OutputLast.String() != "last" || DeviceCUDA.String() != "cuda" || Device(9).String() != "Device(9)" {
		t.Errorf("enum strings")
	}
}

// A panic that is not a library failure is recovered too, as ErrInternal.
func TestRecoverUnexpectedPanic(t *testing.T) {
	err := func() (err error) {
		defer recoverError(&err)
		var m map[string]int
		m["x"] = 1 // a runtime error
		return nil
	}()
	wantStatus(t, err, ErrInternal)
	if _, _, ok := cseqcore.DecodePanic("seqc:abc:x"); ok {
		t.Errorf("DecodePanic accepted a malformed text")
	}
	if st, msg, ok := cseqcore.DecodePanic("seqc:-12:a: b"); !ok || st != -12 || msg != "a: b" {
		t.Errorf("DecodePanic: %v %q %v", st, msg, ok)
	}
}

func TestRuntime(t *testing.T) {
	rt := must(NewRuntime(2)).of(t)
	if rt.Threads() != 2 || rt.Device() != DeviceCPU {
		t.Errorf("threads %d, device %v", rt.Threads(), rt.Device())
	}
	m := must(rt.LoadModel(frameModelPath(t))).of(t)
	defer m.Close()
	data := must(os.ReadFile(frameModelPath(t))).of(t)
	m2 := must(rt.LoadModelBytes(data)).of(t)
	defer m2.Close()

	// Models keep their runtime alive.
	check(t, rt.Close())
	check(t, rt.Close())
	out := must(mustStream(t, m).Step(testFrames(1))).of(t)
	out2 := must(mustStream(t, m2).Step(testFrames(1))).of(t)
	if !sameBits(out, out2) {
		t.Errorf("file and buffer loads differ")
	}
	_, err := rt.LoadModel(frameModelPath(t))
	wantClosed(t, err)
	_, err = rt.LoadModelBytes(data)
	wantClosed(t, err)
	if rt.Threads() != 2 {
		t.Errorf("Threads after Close: %d", rt.Threads())
	}

	auto := must(NewRuntime(0)).of(t)
	defer auto.Close()
	if auto.Threads() < 1 {
		t.Errorf("NewRuntime(0): %d threads", auto.Threads())
	}
	_, err = NewDeviceRuntime(Device(7), 0, 1)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = NewRuntime(math.MaxInt32 + 1)
	wantStatus(t, err, ErrInvalidArgument)

	var nilRT *Runtime
	_, err = nilRT.LoadModel(frameModelPath(t))
	wantStatus(t, err, ErrInvalidArgument)
	check(t, nilRT.Close())
}

// CUDA: a runtime where the build, driver and device allow it, otherwise
// the library's status (no device, or unsupported) as an error.
func TestCUDARuntime(t *testing.T) {
	rt, err := NewDeviceRuntime(DeviceCUDA, 0, 1)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || (e.Status != ErrNoDevice && e.Status != ErrUnsupported) || e.Message == "" {
			t.Fatalf("CUDA runtime: %v", err)
		}
		t.Logf("no CUDA runtime: %v", err)
		return
	}
	defer rt.Close()
	if rt.Device() != DeviceCUDA {
		t.Errorf("device %v", rt.Device())
	}
	_, err = NewDeviceRuntime(DeviceCUDA, 1000, 1)
	wantStatus(t, err, ErrNoDevice)
}

func TestModelInfo(t *testing.T) {
	fm := frameModel(t)
	if fm.InputKind() != InputFrames || fm.InputWidth() != 8 || fm.OutputWidth() != 16 || fm.OutputIsLogits() {
		t.Errorf("frame model: %v %d %d %v", fm.InputKind(), fm.InputWidth(), fm.OutputWidth(), fm.OutputIsLogits())
	}
	tm := tokenModel(t)
	if tm.InputKind() != InputTokens || tm.InputWidth() != 256 || tm.OutputWidth() != 256 || !tm.OutputIsLogits() {
		t.Errorf("token model: %v %d %d %v", tm.InputKind(), tm.InputWidth(), tm.OutputWidth(), tm.OutputIsLogits())
	}
	for _, m := range []*Model{fm, tm} {
		blocks := m.Blocks()
		if len(blocks) == 0 {
			t.Fatalf("no blocks")
		}
		recurrent := false
		for _, b := range blocks {
			if b.Name == "" || b.Plugin == "" {
				t.Errorf("block %+v", b)
			}
			recurrent = recurrent || strings.HasPrefix(b.Plugin, "recurrent/")
		}
		if !recurrent {
			t.Errorf("no recurrent block in %+v", blocks)
		}
		blocks[0].Name = "changed"
		if m.Blocks()[0].Name == "changed" {
			t.Errorf("Blocks returns the model's own slice")
		}
		if m.WeightBytes() <= 0 {
			t.Errorf("weight bytes %d", m.WeightBytes())
		}
		layout := m.StateLayout()
		total := 0
		for _, st := range layout {
			n := int64(st.DType.Size())
			for _, d := range st.Shape {
				n *= d
			}
			if st.Name == "" || len(st.Shape) == 0 || int(n) != st.Bytes || st.DType != DTypeF32 {
				t.Errorf("state tensor %+v", st)
			}
			total += st.Bytes
		}
		if len(layout) == 0 || total != m.StateBytes() {
			t.Errorf("state layout %+v, %d bytes in all", layout, m.StateBytes())
		}

		desc := must(m.Describe()).of(t)
		var parsed map[string]interface{}
		if err := json.Unmarshal([]byte(desc), &parsed); err != nil || len(parsed) == 0 {
			t.Errorf("Describe is not a JSON object: %v\n%s", err, desc)
		}
		for _, st := range layout {
			if !strings.Contains(desc, st.Name) {
				t.Errorf("Describe does not mention state %q", st.Name)
			}
		}
	}

	// The information stays readable after Close; Describe does not.
	check(t, fm.Close())
	if fm.InputWidth() != 8 || len(fm.StateLayout()) == 0 {
		t.Errorf("info after Close")
	}
	_, err := fm.Describe()
	wantClosed(t, err)

	var nilModel *Model
	if nilModel.InputWidth() != 0 || nilModel.Blocks() != nil || len(nilModel.StateLayout()) != 0 {
		t.Errorf("nil model info")
	}
	_, err = nilModel.Describe()
	wantStatus(t, err, ErrInvalidArgument)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadModel(filepath.Join(dir, "missing.safetensors"))
	wantStatus(t, err, ErrIO)

	garbage := filepath.Join(dir, "garbage.safetensors")
	check(t, os.WriteFile(garbage, []byte("this is not a model file at all"), 0o644))
	_, err = LoadModel(garbage)
	wantStatus(t, err, ErrFormat)

	data := must(os.ReadFile(frameModelPath(t))).of(t)
	for _, n := range []int{len(data) / 2, len(data) - 1, 7, 9} {
		_, err = LoadModelBytes(data[:n])
		wantStatus(t, err, ErrFormat)
	}
	_, err = LoadModelBytes(nil)
	if err == nil {
		t.Errorf("LoadModelBytes(nil) succeeded")
	}
	_, err = LoadModelBytes([]byte{})
	if err == nil {
		t.Errorf("LoadModelBytes(empty) succeeded")
	}
	_, err = LoadModel("")
	if err == nil {
		t.Errorf(`LoadModel("") succeeded`)
	}
	_, err = LoadModel(frameModelPath(t) + "\x00.txt")
	wantStatus(t, err, ErrInvalidArgument)
	_, err = LoadModel(strings.Repeat("x", 70000))
	wantStatus(t, err, ErrInvalidArgument)

	// The buffer is only read during the call.
	buf := append([]byte(nil), data...)
	m := must(LoadModelBytes(buf)).of(t)
	defer m.Close()
	for i := range buf {
		buf[i] = 0
	}
	out := must(mustStream(t, m).Step(testFrames(1))).of(t)
	ref := must(mustStream(t, frameModel(t)).Step(testFrames(1))).of(t)
	if !sameBits(out, ref) {
		t.Errorf("model loaded from bytes changed with the bytes")
	}
}

func TestStepAndForward(t *testing.T) {
	m := frameModel(t)
	frames := testFrames(12)
	all := must(mustStream(t, m).Forward(frames, OutputAll)).of(t)
	if len(all) != 12*16 {
		t.Fatalf("Forward ALL: %d floats", len(all))
	}

	s := mustStream(t, m)
	out := make([]float32, 16)
	for i := 0; i < 12; i++ {
		check(t, s.StepInto(frames[i*8:(i+1)*8], out))
		if !sameBits(out, all[i*16:(i+1)*16]) {
			t.Fatalf("step %d differs from forward", i)
		}
		if s.Position() != int64(i+1) {
			t.Fatalf("position %d after %d steps", s.Position(), i+1)
		}
	}

	last := must(mustStream(t, m).Forward(frames, OutputLast)).of(t)
	if !sameBits(last, all[11*16:]) {
		t.Errorf("Forward LAST differs from ALL")
	}
	s2 := mustStream(t, m)
	none := must(s2.Forward(frames[:11*8], OutputNone)).of(t)
	if none != nil || s2.Position() != 11 {
		t.Errorf("Forward NONE: %v, position %d", none, s2.Position())
	}
	if got := must(s2.Step(frames[11*8:])).of(t); !sameBits(got, all[11*16:]) {
		t.Errorf("step after a NONE prefill differs")
	}

	// State-only step (empty out) and reset.
	s3 := mustStream(t, m)
	check(t, s3.StepInto(frames[:8], nil))
	if got := must(s3.Step(frames[8:16])).of(t); !sameBits(got, all[16:32]) {
		t.Errorf("step after a state-only step differs")
	}
	check(t, s3.Reset())
	if s3.Position() != 0 {
		t.Errorf("position after Reset: %d", s3.Position())
	}
	if got := must(s3.Step(frames[:8])).of(t); !sameBits(got, all[:16]) {
		t.Errorf("step after Reset differs from a fresh stream")
	}

	// Zero positions are a no-op.
	if got := must(s3.Forward(nil, OutputAll)).of(t); len(got) != 0 || s3.Position() != 1 {
		t.Errorf("Forward of nothing: %v, position %d", got, s3.Position())
	}

	// Tokens: step by step equals forward.
	tm := tokenModel(t)
	prompt := ByteTokens(goldenPrompt)
	allTok := must(mustStream(t, tm).ForwardTokens(prompt, OutputAll)).of(t)
	st := mustStream(t, tm)
	for i, tok := range prompt {
		got := must(st.StepToken(tok)).of(t)
		if !sameBits(got, allTok[i*256:(i+1)*256]) {
			t.Fatalf("token step %d differs from forward", i)
		}
	}
	into := make([]float32, 256)
	check(t, mustStream(t, tm).ForwardTokensInto(prompt, OutputLast, into))
	if !sameBits(into, allTok[len(allTok)-256:]) {
		t.Errorf("ForwardTokensInto LAST differs")
	}
	check(t, st.StepTokenInto('x', nil))
	if st.Position() != int64(len(prompt)+1) {
		t.Errorf("token position %d", st.Position())
	}
}

// Wrong shapes, kinds and values give the library's errors and leave the
// stream unchanged.
func TestBadInputs(t *testing.T) {
	fm := frameModel(t)
	s := mustStream(t, fm)
	frames := testFrames(2)
	check(t, s.StepInto(frames[:8], nil))

	_, err := s.Step(frames[:7])
	wantStatus(t, err, ErrShape)
	_, err = s.Step(nil)
	wantStatus(t, err, ErrInvalidArgument)
	wantStatus(t, s.StepInto(frames[:8], make([]float32, 15)), ErrBufferTooSmall)
	_, err = s.Forward(frames[:9], OutputAll)
	wantStatus(t, err, ErrShape)
	wantStatus(t, s.ForwardInto(frames, OutputAll, make([]float32, 31)), ErrBufferTooSmall)
	_, err = s.Forward(frames, OutputMode(5))
	wantStatus(t, err, ErrInvalidArgument)
	_, err = s.Forward(frames, OutputMode(math.MaxInt32+1))
	wantStatus(t, err, ErrInvalidArgument)
	_, err = s.StepToken(1)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = s.ForwardTokens([]int32{1}, OutputAll)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = s.Generate(1)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = s.Sample(make([]float32, 15))
	wantStatus(t, err, ErrShape)
	_, err = s.Sample(nil)
	wantStatus(t, err, ErrInvalidArgument)
	if s.Position() != 1 {
		t.Errorf("a failed call moved the stream to %d", s.Position())
	}
	// Still the same state: the next step equals that of an untouched stream.
	ref := mustStream(t, fm)
	check(t, ref.StepInto(frames[:8], nil))
	if a, b := must(s.Step(frames[8:])).of(t), must(ref.Step(frames[8:])).of(t); !sameBits(a, b) {
		t.Errorf("failed calls changed the state")
	}

	tm := tokenModel(t)
	ts := mustStream(t, tm)
	for _, tok := range []int32{256, -1, math.MaxInt32, math.MinInt32} {
		_, err = ts.StepToken(tok)
		wantStatus(t, err, ErrInvalidArgument)
	}
	_, err = ts.ForwardTokens([]int32{'a', 'b', 300}, OutputAll)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = ts.Step(testFrames(1))
	wantStatus(t, err, ErrInvalidArgument)
	_, err = ts.Generate()
	wantStatus(t, err, ErrInvalidArgument)
	_, err = ts.Generate('a', 999)
	wantStatus(t, err, ErrInvalidArgument)
	if ts.Position() != 0 {
		t.Errorf("failed token calls moved the stream to %d", ts.Position())
	}
	wantStatus(t, ts.SetSampling(-1, 0, 1), ErrInvalidArgument)
	wantStatus(t, ts.SetSampling(float32(math.NaN()), 0, 1), ErrInvalidArgument)
	wantStatus(t, ts.SetSampling(1, -3, 1), ErrInvalidArgument)
	wantStatus(t, ts.SetSampling(1, 0, 0), ErrInvalidArgument)
	wantStatus(t, ts.SetSampling(1, 0, 1.5), ErrInvalidArgument)
	wantStatus(t, ts.SetSampling(1, math.MaxInt32+1, 1), ErrInvalidArgument)
	var text bytes.Buffer
	wantStatus(t, mustStream(t, fm).GenerateText(&text, "x", 3), ErrInvalidArgument)
}

func TestSampling(t *testing.T) {
	tm := tokenModel(t)
	logits := must(mustStream(t, tm).ForwardTokens(ByteTokens(goldenPrompt), OutputLast)).of(t)
	argmax := int32(0)
	for i, v := range logits {
		if v > logits[argmax] {
			argmax = int32(i)
		}
	}
	s := mustStream(t, tm)
	if tok := must(s.Sample(logits)).of(t); tok != argmax {
		t.Errorf("greedy Sample %d, argmax %d", tok, argmax)
	}

	draw := func(seed uint64, topK int) []int32 {
		s := mustStream(t, tm)
		check(t, s.SetSampling(1.0, topK, 1))
		check(t, s.SetSeed(seed))
		var toks []int32
		for i := 0; i < 64; i++ {
			toks = append(toks, must(s.Sample(logits)).of(t))
		}
		return toks
	}
	a, b, c := draw(7, 0), draw(7, 0), draw(8, 0)
	if !equalInt32(a, b) {
		t.Errorf("same seed, different draws")
	}
	if equalInt32(a, c) {
		t.Errorf("different seeds, same 64 draws")
	}
	for _, tok := range draw(9, 1) {
		if tok != argmax {
			t.Fatalf("top_k 1 drew %d, argmax %d", tok, argmax)
		}
	}

	// Reset re-seeds the generator from the last seed.
	s = mustStream(t, tm)
	check(t, s.SetSampling(0.9, 0, 0.9))
	check(t, s.SetSeed(42))
	first := must(s.Generate(ByteTokens(goldenPrompt)...)).of(t)
	check(t, s.Reset())
	if again := must(s.Generate(ByteTokens(goldenPrompt)...)).of(t); again != first {
		t.Errorf("after Reset: %d, first %d", again, first)
	}
}

func TestGenerateText(t *testing.T) {
	tm := tokenModel(t)
	var text bytes.Buffer
	s := mustStream(t, tm)
	check(t, s.GenerateText(&text, goldenPrompt, 40))
	if text.Len() != 40 {
		t.Fatalf("GenerateText wrote %d bytes", text.Len())
	}
	if s.Position() != int64(len(goldenPrompt)+39) {
		t.Errorf("position %d after GenerateText", s.Position())
	}
	// The Generator gives the same tokens.
	g := mustStream(t, tm).Generator(ByteTokens(goldenPrompt))
	for i, want := range text.Bytes() {
		if tok := must(g.Next()).of(t); tok != int32(want) {
			t.Fatalf("Generator token %d = %d, GenerateText wrote %d", i, tok, want)
		}
	}
	// Writer errors stop generation.
	werr := errors.New("disk full")
	if err := mustStream(t, tm).GenerateText(failingWriter{werr}, goldenPrompt, 5); !errors.Is(err, werr) {
		t.Errorf("writer error: %v", err)
	}
	// A Generator on a closed stream reports the error, every time.
	closed := mustStream(t, tm)
	g = closed.Generator(ByteTokens("x"))
	check(t, closed.Close())
	for i := 0; i < 2; i++ {
		_, err := g.Next()
		wantClosed(t, err)
	}
	_, err := mustStream(t, tm).Generator(nil).Next()
	wantStatus(t, err, ErrInvalidArgument)
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestSnapshotRestore(t *testing.T) {
	tm := tokenModel(t)
	s := mustStream(t, tm)
	check(t, s.SetSampling(0.8, 40, 0.95))
	check(t, s.SetSeed(99))
	tok := must(s.Generate(ByteTokens(goldenPrompt)...)).of(t)

	blob := must(s.Snapshot()).of(t)
	if n := must(s.SnapshotSize()).of(t); n != len(blob) {
		t.Errorf("SnapshotSize %d, snapshot %d bytes", n, len(blob))
	}
	buf := make([]byte, len(blob)+10)
	if n := must(s.SnapshotInto(buf)).of(t); n != len(blob) || !bytes.Equal(buf[:n], blob) {
		t.Errorf("SnapshotInto wrote %d bytes", n)
	}
	_, err := s.SnapshotInto(buf[:len(blob)-1])
	wantStatus(t, err, ErrBufferTooSmall)

	pos := s.Position()
	continued := []int32{}
	for t0, i := tok, 0; i < 20; i++ {
		t0 = must(s.Generate(t0)).of(t)
		continued = append(continued, t0)
	}

	r := mustStream(t, tm)
	check(t, r.Restore(blob))
	if r.Position() != pos {
		t.Errorf("restored position %d, want %d", r.Position(), pos)
	}
	for t0, i := tok, 0; i < 20; i++ {
		t0 = must(r.Generate(t0)).of(t)
		if t0 != continued[i] {
			t.Fatalf("restored stream token %d: %d, original %d", i, t0, continued[i])
		}
	}

	// Refused blobs leave the stream unchanged.
	victim := mustStream(t, tm)
	check(t, victim.Restore(blob))
	corrupt := append([]byte(nil), blob...)
	corrupt[len(corrupt)/2] ^= 0x40
	wantStatus(t, victim.Restore(corrupt), ErrChecksum)
	wantStatus(t, victim.Restore(blob[:len(blob)-3]), ErrFormat)
	wantStatus(t, victim.Restore(blob[:5]), ErrFormat)
	wantStatus(t, victim.Restore([]byte{}), ErrFormat)
	wantStatus(t, victim.Restore(nil), ErrInvalidArgument)
	badMagic := append([]byte(nil), blob...)
	badMagic[0] ^= 0xff
	wantStatus(t, victim.Restore(badMagic), ErrFormat)

	// A snapshot of another model.
	fs := mustStream(t, frameModel(t))
	foreign := must(fs.Snapshot()).of(t)
	wantStatus(t, victim.Restore(foreign), ErrMismatch)

	if victim.Position() != pos {
		t.Errorf("refused restores moved the stream to %d", victim.Position())
	}
	if next := must(victim.Generate(tok)).of(t); next != continued[0] {
		t.Errorf("refused restores changed the stream")
	}
}

func TestFork(t *testing.T) {
	m := frameModel(t)
	frames := testFrames(12)
	s := mustStream(t, m)
	must(s.Forward(frames[:6*8], OutputNone)).of(t)
	f := must(s.Fork()).of(t)
	defer f.Close()
	if f.Position() != 6 {
		t.Errorf("fork position %d", f.Position())
	}
	a := must(s.Forward(frames[6*8:], OutputAll)).of(t)
	check(t, s.Reset()) // the fork does not share state
	b := must(f.Forward(frames[6*8:], OutputAll)).of(t)
	if !sameBits(a, b) {
		t.Errorf("fork continues differently")
	}
	// A fork outlives its parent.
	g := must(f.Fork()).of(t)
	check(t, f.Close())
	if g.Position() != 12 {
		t.Errorf("fork of fork position %d", g.Position())
	}
	check(t, g.Close())
	_, err := f.Fork()
	wantClosed(t, err)
}

func TestState(t *testing.T) {
	m := frameModel(t)
	frames := testFrames(12)
	s := mustStream(t, m)
	must(s.Forward(frames[:5*8], OutputNone)).of(t)

	// Copy every state tensor into a fresh stream: it then continues like s.
	c := mustStream(t, m)
	for _, st := range m.StateLayout() {
		raw := must(s.ReadState(st.Name)).of(t)
		if len(raw) != st.Bytes {
			t.Fatalf("%s: %d bytes", st.Name, len(raw))
		}
		check(t, c.WriteState(st.Name, raw))
		vals := must(s.ReadStateFloat32(st.Name)).of(t)
		if len(vals) != st.Bytes/4 || !bytes.Equal(float32Bytes(vals), raw) {
			t.Fatalf("%s: ReadStateFloat32 and ReadState differ", st.Name)
		}
	}
	if c.Position() != 0 {
		t.Errorf("WriteState moved the position to %d", c.Position())
	}
	a := must(s.Step(frames[5*8 : 6*8])).of(t)
	b := must(c.Step(frames[5*8 : 6*8])).of(t)
	if !sameBits(a, b) {
		t.Errorf("stream with copied state continues differently")
	}

	// Zero state equals a fresh stream.
	for _, st := range m.StateLayout() {
		check(t, s.WriteStateFloat32(st.Name, make([]float32, st.Bytes/4)))
		into := make([]byte, st.Bytes)
		check(t, s.ReadStateInto(st.Name, into))
		if !bytes.Equal(into, make([]byte, st.Bytes)) {
			t.Errorf("%s not zero after writing zeros", st.Name)
		}
	}
	fresh := must(mustStream(t, m).Step(frames[:8])).of(t)
	if got := must(s.Step(frames[:8])).of(t); !sameBits(got, fresh) {
		t.Errorf("zeroed stream differs from a fresh one")
	}

	name := m.StateLayout()[0].Name
	size := m.StateLayout()[0].Bytes
	_, err := s.ReadState("no.such.state")
	wantStatus(t, err, ErrNotFound)
	wantStatus(t, s.WriteState("no.such.state", make([]byte, 4)), ErrNotFound)
	wantStatus(t, s.ReadStateInto(name, make([]byte, size-1)), ErrShape)
	wantStatus(t, s.WriteState(name, make([]byte, size+4)), ErrShape)
	wantStatus(t, s.WriteState(name, nil), ErrShape)
	wantStatus(t, s.WriteStateFloat32(name, make([]float32, 1)), ErrShape)
	_, err = s.ReadStateFloat32("no.such.state")
	wantStatus(t, err, ErrNotFound)
	wantStatus(t, s.WriteState("bad\x00name", make([]byte, size)), ErrInvalidArgument)
}

func TestStepMany(t *testing.T) {
	m := frameModel(t)
	frames := testFrames(12)
	// Three streams at different positions, and their twins stepped alone.
	var batch, alone []*Stream
	for i := 0; i < 3; i++ {
		a, b := mustStream(t, m), mustStream(t, m)
		must(a.Forward(frames[:i*8], OutputNone)).of(t)
		must(b.Forward(frames[:i*8], OutputNone)).of(t)
		batch, alone = append(batch, a), append(alone, b)
	}
	in := frames[3*8 : 6*8]
	out := must(StepMany(batch, in)).of(t)
	if len(out) != 3*16 {
		t.Fatalf("StepMany: %d floats", len(out))
	}
	for i, s := range alone {
		want := must(s.Step(in[i*8 : (i+1)*8])).of(t)
		if !sameBits(out[i*16:(i+1)*16], want) {
			t.Errorf("StepMany row %d differs from a single step", i)
		}
		if batch[i].Position() != int64(i+1) {
			t.Errorf("stream %d at %d", i, batch[i].Position())
		}
	}
	check(t, StepManyInto(batch, in, nil))

	_, err := StepMany(batch, in[:20])
	wantStatus(t, err, ErrShape)
	wantStatus(t, StepManyInto(batch, in, make([]float32, 47)), ErrBufferTooSmall)
	_, err = StepMany([]*Stream{batch[0], batch[1], batch[0]}, in)
	wantStatus(t, err, ErrInvalidArgument)
	_, err = StepMany([]*Stream{batch[0], nil}, in[:16])
	wantStatus(t, err, ErrInvalidArgument)
	other := mustStream(t, frameModel(t))
	_, err = StepMany([]*Stream{batch[0], other}, in[:16])
	wantStatus(t, err, ErrMismatch)
	if out, err := StepMany(nil, nil); err != nil || len(out) != 0 {
		t.Errorf("StepMany of no streams: %v %v", out, err)
	}
	closed := mustStream(t, m)
	check(t, closed.Close())
	_, err = StepMany([]*Stream{batch[0], closed}, in[:16])
	wantClosed(t, err)
	if batch[0].Position() != 2 {
		t.Errorf("failed StepMany calls moved stream 0 to %d", batch[0].Position())
	}

	// Tokens.
	tm := tokenModel(t)
	var tb, ta []*Stream
	for i := 0; i < 4; i++ {
		a, b := mustStream(t, tm), mustStream(t, tm)
		must(a.ForwardTokens(ByteTokens(goldenPrompt[:i]), OutputNone)).of(t)
		must(b.ForwardTokens(ByteTokens(goldenPrompt[:i]), OutputNone)).of(t)
		tb, ta = append(tb, a), append(ta, b)
	}
	toks := []int32{'a', 'b', 'c', 'd'}
	tout := must(StepManyTokens(tb, toks)).of(t)
	for i, s := range ta {
		if want := must(s.StepToken(toks[i])).of(t); !sameBits(tout[i*256:(i+1)*256], want) {
			t.Errorf("StepManyTokens row %d differs", i)
		}
	}
	check(t, StepManyTokensInto(tb, toks, make([]float32, 4*256)))
	_, err = StepManyTokens(tb, toks[:3])
	wantStatus(t, err, ErrShape)
	_, err = StepManyTokens(tb, []int32{1, 2, 3, 256})
	wantStatus(t, err, ErrInvalidArgument)
	_, err = StepManyTokens(batch, []int32{1, 2, 3})
	wantStatus(t, err, ErrInvalidArgument)
}

func TestRegistry(t *testing.T) {
	plugins := must(Plugins()).of(t)
	found := map[string]Plugin{}
	for _, p := range plugins {
		if p.Name == "" || p.Summary == "" || p.Version == 0 {
			t.Errorf("plugin %+v", p)
		}
		found[p.Name] = p
	}
	for _, name := range []string{"recurrent/lstm", "recurrent/gru"} {
		p, ok := found[name]
		if !ok {
			t.Errorf("%s not registered: %+v", name, plugins)
			continue
		}
		if p.Kind != PluginRecurrent {
			t.Errorf("%s kind %v", name, p.Kind)
		}
		desc := must(DescribePlugin(name)).of(t)
		var parsed map[string]interface{}
		if err := json.Unmarshal([]byte(desc), &parsed); err != nil {
			t.Errorf("%s descriptor: %v", name, err)
		}
	}
	_, err := DescribePlugin("recurrent/nope")
	wantStatus(t, err, ErrNotFound)
	_, err = DescribePlugin("")
	if err == nil {
		t.Errorf(`DescribePlugin("") succeeded`)
	}
}

func TestConvert(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "converted.safetensors")
	check(t, Convert(frameModelPath(t), dst))
	conv := mustLoad(t, dst)
	orig := frameModel(t)
	frames := testFrames(12)
	a := must(mustStream(t, orig).Forward(frames, OutputAll)).of(t)
	b := must(mustStream(t, conv).Forward(frames, OutputAll)).of(t)
	if !sameBits(a, b) {
		t.Errorf("converted model computes differently")
	}
	wantStatus(t, Convert(filepath.Join(dir, "missing"), filepath.Join(dir, "x")), ErrIO)
	wantStatus(t, Convert(frameModelPath(t), filepath.Join(dir, "no", "such", "dir", "x")), ErrIO)
}

// Each goroutine has its own stream of one shared model.
func TestGoroutines(t *testing.T) {
	m := frameModel(t)
	frames := testFrames(12)
	want := must(mustStream(t, m).Forward(frames, OutputAll)).of(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewStream()
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for rep := 0; rep < 50; rep++ {
				if err := s.Reset(); err != nil {
					errs <- err
					return
				}
				out := make([]float32, 16)
				for i := 0; i < 12; i++ {
					if err := s.StepInto(frames[i*8:(i+1)*8], out); err != nil {
						errs <- err
						return
					}
					if !sameBits(out, want[i*16:(i+1)*16]) {
						errs <- fmt.Errorf("goroutine result differs at step %d", i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Two goroutines on one stream: the library refuses the overlapping call
// with ErrBusy (and nothing else goes wrong).
func TestBusy(t *testing.T) {
	m := tokenModel(t)
	s := mustStream(t, m)
	long := make([]int32, 4000)
	for i := range long {
		long[i] = int32('a' + i%26)
	}
	busy, ok := 0, 0
	for attempt := 0; attempt < 20 && busy == 0; attempt++ {
		done := make(chan error)
		go func() {
			_, err := s.ForwardTokens(long, OutputNone)
			done <- err
		}()
		for running := true; running; {
			select {
			case err := <-done:
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrBusy):
					busy++
				default:
					t.Fatalf("long forward: %v", err)
				}
				running = false
			default:
				_, err := s.StepToken('z')
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrBusy):
					busy++
				default:
					t.Fatalf("step: %v", err)
				}
			}
		}
	}
	if busy == 0 {
		t.Fatalf("no call was refused as busy (%d calls went through)", ok)
	}
	t.Logf("%d calls refused as busy, %d went through", busy, ok)
}

// Every method on a closed or nil handle returns an error; nothing panics.
func TestClosedAndNilHandles(t *testing.T) {
	m := tokenModel(t)
	s := mustStream(t, m)
	check(t, s.Close())
	check(t, s.Close())
	var nilStream *Stream
	for _, st := range []*Stream{s, nilStream} {
		expect := wantClosed
		if st == nil {
			expect = func(t testing.TB, err error) { t.Helper(); wantStatus(t, err, ErrInvalidArgument) }
		}
		_, err := st.Step(testFrames(1))
		expect(t, err)
		expect(t, st.StepInto(testFrames(1), nil))
		_, err = st.StepToken(1)
		expect(t, err)
		expect(t, st.StepTokenInto(1, nil))
		_, err = st.Forward(testFrames(1), OutputAll)
		expect(t, err)
		expect(t, st.ForwardInto(testFrames(1), OutputAll, nil))
		_, err = st.ForwardTokens([]int32{1}, OutputAll)
		expect(t, err)
		expect(t, st.ForwardTokensInto([]int32{1}, OutputAll, nil))
		expect(t, st.Reset())
		expect(t, st.SetSampling(1, 0, 1))
		expect(t, st.SetSeed(1))
		_, err = st.Sample(make([]float32, 256))
		expect(t, err)
		_, err = st.Generate(1)
		expect(t, err)
		_, err = st.SnapshotSize()
		expect(t, err)
		_, err = st.Snapshot()
		expect(t, err)
		_, err = st.SnapshotInto(make([]byte, 10))
		expect(t, err)
		expect(t, st.Restore([]byte{1}))
		_, err = st.Fork()
		expect(t, err)
		_, err = st.Model()
		expect(t, err)
		_, err = st.ReadState("x")
		if err == nil {
			t.Errorf("ReadState on a closed stream")
		}
		expect(t, st.ReadStateInto("x", nil))
		expect(t, st.WriteState("x", nil))
		_, err = st.ReadStateFloat32("x")
		if err == nil {
			t.Errorf("ReadStateFloat32 on a closed stream")
		}
		if err := st.WriteStateFloat32("x", nil); err == nil {
			t.Errorf("WriteStateFloat32 on a closed stream")
		}
		var buf bytes.Buffer
		expect(t, st.GenerateText(&buf, "x", 1))
		_, err = st.Generator(nil).Next()
		expect(t, err)
		if st.Position() != -1 {
			t.Errorf("Position of a closed stream: %d", st.Position())
		}
		_, err = StepManyTokens([]*Stream{st}, []int32{1})
		if err == nil {
			t.Errorf("StepManyTokens with a closed stream")
		}
		check(t, st.Close())
	}

	check(t, m.Close())
	_, err := m.NewStream()
	wantClosed(t, err)
	var nilModel *Model
	_, err = nilModel.NewStream()
	wantStatus(t, err, ErrInvalidArgument)
	check(t, nilModel.Close())
}

// Models may be closed before their streams, and handles in any order.
func TestOwnership(t *testing.T) {
	m, err := LoadModel(frameModelPath(t))
	check(t, err)
	s := must(m.NewStream()).of(t)
	f := must(s.Fork()).of(t)
	check(t, m.Close())
	frames := testFrames(2)
	a := must(s.Step(frames[:8])).of(t)
	// The stream hands out a new model handle, usable after the first was closed.
	m2 := must(s.Model()).of(t)
	if m2.InputWidth() != 8 {
		t.Errorf("stream's model input width %d", m2.InputWidth())
	}
	s2 := must(m2.NewStream()).of(t)
	check(t, m2.Close())
	b := must(s2.Step(frames[:8])).of(t)
	if !sameBits(a, b) {
		t.Errorf("streams of the re-obtained model differ")
	}
	check(t, s.Close())
	c := must(f.Step(frames[:8])).of(t)
	if !sameBits(a, c) {
		t.Errorf("fork differs after its parent and model closed")
	}
	check(t, f.Close())
	check(t, s2.Close())
	check(t, m.Close())
	check(t, m2.Close())
}

// Handles dropped without Close are released by their finalizers.
func TestFinalizers(t *testing.T) {
	path := frameModelPath(t)
	before := settleHandles()
	func() {
		rt, err := NewRuntime(1)
		check(t, err)
		m, err := rt.LoadModel(path)
		check(t, err)
		for i := 0; i < 10; i++ {
			s, err := m.NewStream()
			check(t, err)
			must(s.Step(testFrames(1))).of(t)
			must(s.Fork()).of(t)
		}
	}()
	if openHandles.Load() != before+22 {
		t.Fatalf("%d handles open, want %d", openHandles.Load(), before+22)
	}
	if !waitForHandles(before) {
		t.Fatalf("finalizers left %d handles open", openHandles.Load()-before)
	}
}

// TestCloseWhileBusy: Close waits for the call in flight on the handle.
func TestCloseWhileBusy(t *testing.T) {
	m := tokenModel(t)
	long := make([]int32, 20000)
	for i := 0; i < 5; i++ {
		s := must(m.NewStream()).of(t)
		done := make(chan error)
		go func() {
			_, err := s.ForwardTokens(long, OutputLast)
			done <- err
		}()
		check(t, s.Close())
		if err := <-done; err != nil && !errors.Is(err, ErrClosed) {
			t.Fatalf("forward racing Close: %v", err)
		}
	}
}

// A slice inside memory that also holds Go pointers is refused by cgo's
// pointer check; the binding reports that as an error, not a panic.
func TestCgoPointerCheck(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "cgocheck=0") {
		t.Skip("cgo pointer checks are off")
	}
	type frameWithPointer struct {
		name  *string
		frame [8]float32
	}
	name := "x"
	v := &frameWithPointer{name: &name}
	s := mustStream(t, frameModel(t))
	_, err := s.Step(v.frame[:])
	e := wantStatus(t, err, ErrInvalidArgument)
	if !strings.Contains(e.Message, "Go pointer") {
		t.Errorf("message %q", e.Message)
	}
	if s.Position() != 0 {
		t.Errorf("refused call moved the stream")
	}
	// The same values in a slice of their own go through.
	must(s.Step(append([]float32(nil), v.frame[:]...))).of(t)
}
