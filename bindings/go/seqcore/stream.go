package seqcore

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// nextStreamID numbers streams, which gives StepMany a fixed order in which
// to hold several streams open.
var nextStreamID atomic.Uint64

// Stream is one sequence being processed: the recurrent state of every
// block, the position, the sampler settings and its random generator.
//
// A Stream is not safe for concurrent use: use it from one goroutine at a
// time. An overlapping second call is refused with ErrBusy. A failed call
// leaves the stream as it was.
type Stream struct {
	mu   sync.RWMutex // read-held by calls in flight, write-held by Close
	raw  cseqcore.Stream
	info *modelInfo
	id   uint64
}

// newStream wraps the SWIG stream that create makes (under recoverError).
func newStream(info *modelInfo, create func() cseqcore.Stream) (s *Stream, err error) {
	defer recoverError(&err)
	raw := create()
	s = &Stream{raw: raw, info: info, id: nextStreamID.Add(1)}
	openHandles.Add(1)
	runtime.SetFinalizer(s, (*Stream).Close)
	return s, nil
}

// Close destroys the stream and releases its model. Closing twice is a
// no-op; Close always returns nil. It waits for a call in flight on the
// stream (on another goroutine) to return.
func (s *Stream) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raw == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	raw := s.raw
	s.raw = nil
	openHandles.Add(-1)
	return deleteHandle(func() { cseqcore.DeleteStream(raw) })
}

func (s *Stream) enter() (cseqcore.Stream, error) {
	if s == nil {
		return nil, nilError("Stream")
	}
	s.mu.RLock()
	if s.raw == nil {
		s.mu.RUnlock()
		return nil, closedError("Stream")
	}
	return s.raw, nil
}

func (s *Stream) leave() { s.mu.RUnlock() }

// Model returns a new handle to the stream's model, holding its own
// reference: Close it when done.
func (s *Stream) Model() (m *Model, err error) {
	raw, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.leave()
	defer recoverError(&err)
	return newModel(raw.Model(), s.info)
}

// Position returns the positions consumed since creation or the last Reset,
// or -1 for a closed stream.
func (s *Stream) Position() (position int64) {
	raw, err := s.enter()
	if err != nil {
		return -1
	}
	defer s.leave()
	defer func() {
		if recover() != nil {
			position = -1
		}
	}()
	return raw.Position()
}

// Reset returns the stream to the state of a new one: zero state, position
// 0, and the random generator re-seeded from the last seed set. Sampling
// settings are kept.
func (s *Stream) Reset() (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.Reset()
	return nil
}

// Step advances the stream by one position with a frame of InputWidth
// floats (frame models) and returns the output, OutputWidth floats.
func (s *Stream) Step(frame []float32) ([]float32, error) {
	out := make([]float32, s.outputWidth())
	if err := s.StepInto(frame, out); err != nil {
		return nil, err
	}
	return out, nil
}

// StepInto is Step writing the output into out, which must hold at least
// OutputWidth floats; an empty out skips the output (state update only).
func (s *Stream) StepInto(frame, out []float32) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.Step(frame, out)
	return nil
}

// StepToken advances the stream by one position with a token id (token
// models) and returns the output, OutputWidth floats.
func (s *Stream) StepToken(token int32) ([]float32, error) {
	out := make([]float32, s.outputWidth())
	if err := s.StepTokenInto(token, out); err != nil {
		return nil, err
	}
	return out, nil
}

// StepTokenInto is StepToken writing the output into out, which must hold at
// least OutputWidth floats; an empty out skips the output.
func (s *Stream) StepTokenInto(token int32, out []float32) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.Step_token(int(token), out)
	return nil
}

// Forward advances the stream by len(frames)/InputWidth positions in one
// call (frames row-major, one frame after the other). The result depends on
// mode: every position's output (OutputAll), the last one's (OutputLast) or
// nil (OutputNone). The outputs are bit for bit those of single steps.
func (s *Stream) Forward(frames []float32, mode OutputMode) ([]float32, error) {
	out := s.forwardOutput(len(frames), s.inputWidth(), mode)
	if err := s.ForwardInto(frames, mode, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardInto is Forward writing into out: n positions x OutputWidth floats
// for OutputAll, OutputWidth floats for OutputLast, nothing for OutputNone.
func (s *Stream) ForwardInto(frames []float32, mode OutputMode, out []float32) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	if !fitsInt32(int(mode)) {
		return errorf(ErrInvalidArgument, "bad output mode %d", int(mode))
	}
	defer recoverError(&err)
	raw.Forward(frames, int(mode), out)
	return nil
}

// ForwardTokens advances the stream by len(tokens) positions in one call, as
// Forward. A token outside the vocabulary fails the whole call before any
// state changes.
func (s *Stream) ForwardTokens(tokens []int32, mode OutputMode) ([]float32, error) {
	out := s.forwardOutput(len(tokens), 1, mode)
	if err := s.ForwardTokensInto(tokens, mode, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ForwardTokensInto is ForwardTokens writing into out, as ForwardInto.
func (s *Stream) ForwardTokensInto(tokens []int32, mode OutputMode, out []float32) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	if !fitsInt32(int(mode)) {
		return errorf(ErrInvalidArgument, "bad output mode %d", int(mode))
	}
	defer recoverError(&err)
	raw.Forward_tokens(tokens, int(mode), out)
	return nil
}

// SetSampling sets how the stream samples tokens: temperature 0 is greedy
// (argmax, lowest id on ties), otherwise the softmax temperature (> 0);
// topK keeps the k most likely tokens (0 keeps all); topP keeps the smallest
// set of most likely tokens whose probability reaches topP, in (0, 1] (1
// keeps all). A new stream samples greedily.
func (s *Stream) SetSampling(temperature float32, topK int, topP float32) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	if !fitsInt32(topK) {
		return errorf(ErrInvalidArgument, "top_k %d out of range", topK)
	}
	defer recoverError(&err)
	raw.Set_sampling(temperature, topK, topP)
	return nil
}

// SetSeed seeds the stream's random generator (xoshiro256**). The
// generator's state is part of snapshots and forks.
func (s *Stream) SetSeed(seed uint64) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.Set_seed(seed)
	return nil
}

// Sample draws a token id from logits (OutputWidth floats) with the stream's
// sampling settings and generator, which advances; the recurrent state does
// not change.
func (s *Stream) Sample(logits []float32) (token int32, err error) {
	raw, err := s.enter()
	if err != nil {
		return -1, err
	}
	defer s.leave()
	defer recoverError(&err)
	return int32(raw.Sample(logits)), nil
}

// Generate feeds one or more token ids (a prompt, or the token sampled last
// time) and samples the next token from the output at the last position.
// A generation loop is
//
//	tok, err := s.Generate(prompt...)
//	for err == nil { ...; tok, err = s.Generate(tok) }
//
// The model must map tokens to logits (Model.OutputIsLogits).
func (s *Stream) Generate(tokens ...int32) (token int32, err error) {
	raw, err := s.enter()
	if err != nil {
		return -1, err
	}
	defer s.leave()
	defer recoverError(&err)
	return int32(raw.Generate(tokens)), nil
}

// SnapshotSize returns the bytes a snapshot of the stream takes now.
func (s *Stream) SnapshotSize() (n int, err error) {
	raw, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer s.leave()
	defer recoverError(&err)
	return int(raw.Snapshot_size()), nil
}

// Snapshot returns a snapshot of the stream: state, position, sampler
// settings and generator, as a self-contained little-endian blob that
// Restore accepts in a stream of the same model, in any process.
func (s *Stream) Snapshot() (blob []byte, err error) {
	raw, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.leave()
	defer recoverError(&err)
	blob = make([]byte, raw.Snapshot_size())
	return blob[:raw.Snapshot_into(blob)], nil
}

// SnapshotInto writes a snapshot into buf and returns its length; a buf
// shorter than SnapshotSize gives ErrBufferTooSmall.
func (s *Stream) SnapshotInto(buf []byte) (n int, err error) {
	raw, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer s.leave()
	defer recoverError(&err)
	return int(raw.Snapshot_into(buf)), nil
}

// Restore replaces the stream's state, position, sampler settings and
// generator with those of a snapshot of a stream of the same model. The blob
// is checked in full first; a refused blob (ErrFormat, ErrVersion,
// ErrChecksum, ErrMismatch for another model) leaves the stream unchanged.
func (s *Stream) Restore(blob []byte) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.Restore(blob)
	return nil
}

// Fork returns an independent copy of the stream (state, position, sampler
// settings and generator); both continue identically given the same inputs.
func (s *Stream) Fork() (*Stream, error) {
	raw, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.leave()
	return newStream(s.info, raw.Fork)
}

// ReadState returns a copy of the named state tensor (see
// Model.StateLayout), in native byte order.
func (s *Stream) ReadState(name string) ([]byte, error) {
	t, _ := s.information().state(name)
	buf := make([]byte, t.Bytes)
	if err := s.ReadStateInto(name, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// ReadStateInto copies the named state tensor into buf, whose length must
// be the tensor's size in bytes (ErrShape otherwise; ErrNotFound for an
// unknown name).
func (s *Stream) ReadStateInto(name string, buf []byte) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.State_read(name, buf)
	return nil
}

// WriteState overwrites the named state tensor with data, whose length must
// be the tensor's size in bytes. The position does not change.
func (s *Stream) WriteState(name string, data []byte) (err error) {
	raw, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave()
	defer recoverError(&err)
	raw.State_write(name, data)
	return nil
}

// ReadStateFloat32 returns the named state tensor as floats; the tensor's
// dtype must be DTypeF32 (ErrDType otherwise).
func (s *Stream) ReadStateFloat32(name string) ([]float32, error) {
	t, err := s.float32State(name)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Bytes/4)
	if err := s.ReadStateInto(name, float32Bytes(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteStateFloat32 overwrites the named DTypeF32 state tensor with values,
// which must hold all of its elements.
func (s *Stream) WriteStateFloat32(name string, values []float32) error {
	if _, err := s.float32State(name); err != nil {
		return err
	}
	return s.WriteState(name, float32Bytes(values))
}

func (s *Stream) float32State(name string) (StateTensor, error) {
	if s == nil {
		return StateTensor{}, nilError("Stream")
	}
	t, ok := s.info.state(name)
	if !ok {
		return t, errorf(ErrNotFound, "no state tensor %q", name)
	}
	if t.DType != DTypeF32 {
		return t, errorf(ErrDType, "state tensor %q is %s, not f32", name, t.DType)
	}
	return t, nil
}

// float32Bytes views the memory of f as bytes, without copying.
func float32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

func (s *Stream) information() *modelInfo {
	if s == nil {
		return &modelInfo{}
	}
	return s.info
}

func (s *Stream) outputWidth() int { return s.information().outputWidth }

func (s *Stream) inputWidth() int { return s.information().inputWidth }

// forwardOutput allocates the output of a Forward call over n inputs of the
// given width (the library checks the shapes and reports a mismatch).
func (s *Stream) forwardOutput(n, width int, mode OutputMode) []float32 {
	w := s.outputWidth()
	switch {
	case mode == OutputAll && width > 0:
		return make([]float32, n/width*w)
	case mode == OutputLast:
		return make([]float32, w)
	}
	return nil
}
