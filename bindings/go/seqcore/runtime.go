package seqcore

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// openHandles counts the library objects this package holds (runtimes,
// models, streams) that are not closed yet; the tests use it to check that
// Close and the finalizers release everything.
var openHandles atomic.Int64

// Runtime is a device with its thread pool: the CPU, or (from libseqcore
// 0.3) a CUDA device. Models are loaded onto a runtime; the package-level
// LoadModel functions use the library's process-wide CPU runtime instead.
//
// A Runtime may be used from any goroutine. Close it when done; the models
// loaded onto it keep it alive as long as they need it.
type Runtime struct {
	mu      sync.RWMutex // read-held by calls in flight, write-held by Close
	raw     cseqcore.Runtime
	threads int
	device  Device
}

// NewRuntime creates a CPU runtime with threads kernel threads (the calling
// thread included); threads <= 0 means one per available core.
func NewRuntime(threads int) (*Runtime, error) {
	return NewDeviceRuntime(DeviceCPU, 0, threads)
}

// NewDeviceRuntime creates a runtime on device number index of the given
// kind (index 0 for the CPU); threads is as for NewRuntime. Without the
// device, its driver or its backend, the error has status ErrNoDevice or
// ErrUnsupported.
func NewDeviceRuntime(device Device, index, threads int) (rt *Runtime, err error) {
	if !fitsInt32(int(device)) || !fitsInt32(index) || !fitsInt32(threads) {
		return nil, errorf(ErrInvalidArgument, "device, index or threads out of the int32 range")
	}
	defer recoverError(&err)
	raw := cseqcore.Runtime_create(int(device), index, threads)
	ok := false
	defer func() {
		if !ok {
			cseqcore.DeleteRuntime(raw)
		}
	}()
	rt = &Runtime{raw: raw, threads: raw.Threads(), device: Device(raw.Device())}
	ok = true
	openHandles.Add(1)
	runtime.SetFinalizer(rt, (*Runtime).Close)
	return rt, nil
}

// Threads returns the number of kernel threads, the caller included. It
// keeps working after Close.
func (rt *Runtime) Threads() int {
	if rt == nil {
		return 0
	}
	return rt.threads
}

// Device returns the kind of device the runtime runs on. It keeps working
// after Close.
func (rt *Runtime) Device() Device {
	if rt == nil {
		return DeviceCPU
	}
	return rt.device
}

// Close releases the runtime. Models loaded onto it keep it alive as long
// as they exist. Closing twice is a no-op; Close always returns nil.
func (rt *Runtime) Close() error {
	if rt == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.raw == nil {
		return nil
	}
	runtime.SetFinalizer(rt, nil)
	raw := rt.raw
	rt.raw = nil
	openHandles.Add(-1)
	return deleteHandle(func() { cseqcore.DeleteRuntime(raw) })
}

// enter checks that the runtime is open and holds it open until leave.
func (rt *Runtime) enter() (cseqcore.Runtime, error) {
	if rt == nil {
		return nil, nilError("Runtime")
	}
	rt.mu.RLock()
	if rt.raw == nil {
		rt.mu.RUnlock()
		return nil, closedError("Runtime")
	}
	return rt.raw, nil
}

func (rt *Runtime) leave() { rt.mu.RUnlock() }

// LoadModel loads a model file onto this runtime: a native libseqcore file
// or a PyTorch nn.LSTM / nn.GRU state dict saved as safetensors.
func (rt *Runtime) LoadModel(path string) (*Model, error) {
	raw, err := rt.enter()
	if err != nil {
		return nil, err
	}
	defer rt.leave()
	return loadModelFile(raw, path)
}

// LoadModelBytes loads a model from the bytes of a model file onto this
// runtime. The bytes are only read during the call.
func (rt *Runtime) LoadModelBytes(data []byte) (*Model, error) {
	raw, err := rt.enter()
	if err != nil {
		return nil, err
	}
	defer rt.leave()
	return loadModelBytes(raw, data)
}

// LoadModelWith is LoadModel onto this runtime with options, such as bf16
// weights on a GPU:
//
//	gpu, err := seqcore.NewDeviceRuntime(seqcore.DeviceCUDA, 0, 0)
//	...
//	m, err := gpu.LoadModelWith(path, seqcore.LoadOptions{WeightDType: seqcore.DTypeBF16})
func (rt *Runtime) LoadModelWith(path string, opts LoadOptions) (*Model, error) {
	raw, err := rt.enter()
	if err != nil {
		return nil, err
	}
	defer rt.leave()
	return loadModelFileWith(raw, path, opts)
}

// LoadModelBytesWith is LoadModelBytes onto this runtime with options.
func (rt *Runtime) LoadModelBytesWith(data []byte, opts LoadOptions) (*Model, error) {
	raw, err := rt.enter()
	if err != nil {
		return nil, err
	}
	defer rt.leave()
	return loadModelBytesWith(raw, data, opts)
}

// deleteHandle runs a SWIG destructor, which cannot fail; the recover only
// keeps the promise that nothing panics.
func deleteHandle(del func()) (err error) {
	defer recoverError(&err)
	del()
	return nil
}

func fitsInt32(v int) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }
