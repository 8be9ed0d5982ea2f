package seqcore

import (
	"runtime"
	"sync"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// Block is one block of a model's graph.
type Block struct {
	Name   string // the block's name in the graph ("rnn")
	Plugin string // the registry entry implementing it ("recurrent/lstm")
}

// StateTensor describes one named tensor of a stream's recurrent state.
type StateTensor struct {
	Name  string  // "rnn.h"
	DType DType   // element type
	Shape []int64 // extents, outermost first
	Bytes int     // size in bytes
}

// modelInfo is what a model says about itself. A model is immutable once
// loaded, so it is read once and shared by the model's handles and streams.
type modelInfo struct {
	inputKind   InputKind
	inputWidth  int
	outputWidth int
	logits      bool
	blocks      []Block
	stateBytes  int
	weightBytes int
	states      []StateTensor
}

func readModelInfo(raw cseqcore.Model) *modelInfo {
	info := &modelInfo{
		inputKind:   InputKind(raw.Input_kind()),
		inputWidth:  int(raw.Input_width()),
		outputWidth: int(raw.Output_width()),
		logits:      raw.Output_is_logits() != 0,
		stateBytes:  int(raw.State_bytes()),
		weightBytes: int(raw.Weight_bytes()),
	}
	for i, n := int64(0), raw.Block_count(); i < n; i++ {
		info.blocks = append(info.blocks, Block{Name: raw.Block_name(i), Plugin: raw.Block_plugin(i)})
	}
	for i, n := int64(0), raw.State_count(); i < n; i++ {
		t := StateTensor{
			Name:  raw.State_name(i),
			DType: DType(raw.State_dtype(i)),
			Bytes: int(raw.State_nbytes(i)),
		}
		ndim := raw.State_ndim(i)
		t.Shape = make([]int64, ndim)
		for axis := 0; axis < ndim; axis++ {
			t.Shape[axis] = raw.State_dim(i, axis)
		}
		info.states = append(info.states, t)
	}
	return info
}

func (info *modelInfo) state(name string) (StateTensor, bool) {
	for _, t := range info.states {
		if t.Name == name {
			return t, true
		}
	}
	return StateTensor{}, false
}

// Model is a loaded model: a block graph with its weights on one runtime.
// It is immutable and may be shared by any number of goroutines and streams.
//
// The information methods (InputWidth, Blocks, StateLayout, ...) keep working
// after Close; Describe and NewStream need an open model.
type Model struct {
	mu   sync.RWMutex // read-held by calls in flight, write-held by Close
	raw  cseqcore.Model
	info *modelInfo
}

// LoadModel loads a model file onto the library's process-wide CPU runtime
// (one thread per core): a native libseqcore file, or a PyTorch nn.LSTM /
// nn.GRU state dict saved as safetensors. Every header field, offset, shape
// and config value is checked; a bad file gives an error (ErrIO, ErrFormat,
// ErrConfig, ErrShape, ...), never a crash.
func LoadModel(path string) (*Model, error) { return loadModelFile(nil, path) }

// LoadModelBytes loads a model from the bytes of a model file, as LoadModel.
// The bytes are only read during the call.
func LoadModelBytes(data []byte) (*Model, error) { return loadModelBytes(nil, data) }

func loadModelFile(rt cseqcore.Runtime, path string) (m *Model, err error) {
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_file(rt, path), nil)
}

func loadModelBytes(rt cseqcore.Runtime, data []byte) (m *Model, err error) {
	defer recoverError(&err)
	return newModel(cseqcore.Model_load_buffer(rt, data), nil)
}

// newModel wraps a new SWIG handle, which it owns from here on, with the
// model's information (read from the model when info is nil). It is called
// under recoverError; if reading the information fails, the handle is
// deleted before the panic goes on.
func newModel(raw cseqcore.Model, info *modelInfo) (*Model, error) {
	ok := false
	defer func() {
		if !ok {
			cseqcore.DeleteModel(raw)
		}
	}()
	if info == nil {
		info = readModelInfo(raw)
	}
	m := &Model{raw: raw, info: info}
	ok = true
	openHandles.Add(1)
	runtime.SetFinalizer(m, (*Model).Close)
	return m, nil
}

// Close releases this handle's reference to the model. Streams of the model
// keep it alive as long as they exist. Closing twice is a no-op; Close
// always returns nil.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.raw == nil {
		return nil
	}
	runtime.SetFinalizer(m, nil)
	raw := m.raw
	m.raw = nil
	openHandles.Add(-1)
	return deleteHandle(func() { cseqcore.DeleteModel(raw) })
}

func (m *Model) enter() (cseqcore.Model, error) {
	if m == nil {
		return nil, nilError("Model")
	}
	m.mu.RLock()
	if m.raw == nil {
		m.mu.RUnlock()
		return nil, closedError("Model")
	}
	return m.raw, nil
}

func (m *Model) leave() { m.mu.RUnlock() }

func (m *Model) information() *modelInfo {
	if m == nil {
		return &modelInfo{inputKind: -1}
	}
	return m.info
}

// InputKind says whether the model consumes token ids or float frames.
func (m *Model) InputKind() InputKind { return m.information().inputKind }

// InputWidth returns the floats per input frame, or the vocabulary size of a
// token model.
func (m *Model) InputWidth() int { return m.information().inputWidth }

// OutputWidth returns the floats per output position (the logits of a
// language model).
func (m *Model) OutputWidth() int { return m.information().outputWidth }

// OutputIsLogits reports whether the output is logits over the token
// vocabulary, so that sampling and generation apply.
func (m *Model) OutputIsLogits() bool { return m.information().logits }

// Blocks returns the blocks of the model's graph, in order.
func (m *Model) Blocks() []Block {
	return append([]Block(nil), m.information().blocks...)
}

// StateBytes returns the bytes of recurrent state one stream holds.
func (m *Model) StateBytes() int { return m.information().stateBytes }

// WeightBytes returns the bytes of weights as held on the device.
func (m *Model) WeightBytes() int { return m.information().weightBytes }

// StateLayout returns the named tensors that make up a stream's state, as
// read and written by Stream.ReadState and Stream.WriteState.
func (m *Model) StateLayout() []StateTensor {
	states := m.information().states
	out := make([]StateTensor, len(states))
	for i, t := range states {
		t.Shape = append([]int64(nil), t.Shape...)
		out[i] = t
	}
	return out
}

// Describe returns the model as JSON: graph, configs, widths, state layout,
// fingerprint and metadata.
func (m *Model) Describe() (json string, err error) {
	raw, err := m.enter()
	if err != nil {
		return "", err
	}
	defer m.leave()
	defer recoverError(&err)
	return raw.Describe(), nil
}

// NewStream creates a stream of the model at position 0, with zero state,
// greedy sampling and seed 0. The stream keeps the model alive.
func (m *Model) NewStream() (*Stream, error) {
	raw, err := m.enter()
	if err != nil {
		return nil, err
	}
	defer m.leave()
	return newStream(m.info, func() cseqcore.Stream { return cseqcore.NewStream(raw) })
}
