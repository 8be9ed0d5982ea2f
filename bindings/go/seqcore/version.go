package seqcore

import (
	"strconv"

	"github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"
)

// Version returns the version of the loaded library as
// MAJOR*10000 + MINOR*100 + PATCH.
func Version() int { return int(cseqcore.Version()) }

// VersionString returns the version of the loaded library ("0.1.0").
func VersionString() string { return cseqcore.Version_string() }

// ABIVersion returns the ABI major of the loaded library (the N of
// libseqcore.so.N).
func ABIVersion() int { return int(cseqcore.Abi_version()) }

// HeaderVersion returns the version of the C header this binding was
// compiled against, comparable with Version.
func HeaderVersion() int { return cseqcore.SEQC_VERSION_NUMBER }

// HeaderABIVersion returns the ABI major of the C header this binding was
// compiled against; the loaded library is compatible when ABIVersion equals
// it.
func HeaderABIVersion() int { return cseqcore.SEQC_ABI_VERSION }

// HasCUDA reports whether the library was built with the CUDA backend.
func HasCUDA() bool { return cseqcore.Has_cuda() != 0 }

// CUDADeviceCount returns the number of usable CUDA devices: 0 without the
// CUDA backend, a driver or a GPU.
func CUDADeviceCount() int { return cseqcore.Cuda_device_count() }

// Device is a kind of device a Runtime runs on.
type Device int

// Devices (seqc_device_kind).
const (
	DeviceCPU  Device = 0
	DeviceCUDA Device = 1
)

func (d Device) String() string {
	switch d {
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		return "cuda"
	}
	return "Device(" + strconv.Itoa(int(d)) + ")"
}

// DType is the element type of a tensor.
type DType int

// Element types (seqc_dtype).
const (
	DTypeF32  DType = 0
	DTypeF16  DType = 1
	DTypeBF16 DType = 2
	DTypeI8   DType = 3
	DTypeI32  DType = 4
	DTypeU8   DType = 5
	DTypeI64  DType = 6
	DTypeF64  DType = 7
)

var dtypeNames = [...]string{"f32", "f16", "bf16", "i8", "i32", "u8", "i64", "f64"}
var dtypeSizes = [...]int{4, 2, 2, 1, 4, 1, 8, 8}

func (t DType) String() string {
	if t >= 0 && int(t) < len(dtypeNames) {
		return dtypeNames[t]
	}
	return "DType(" + strconv.Itoa(int(t)) + ")"
}

// Size returns the bytes of one element, or 0 for an unknown dtype.
func (t DType) Size() int {
	if t >= 0 && int(t) < len(dtypeSizes) {
		return dtypeSizes[t]
	}
	return 0
}

// InputKind says what a model consumes at each position.
type InputKind int

// Input kinds (seqc_input_kind).
const (
	// InputTokens: integer token ids in [0, input width).
	InputTokens InputKind = 0
	// InputFrames: float frames of input-width values.
	InputFrames InputKind = 1
)

func (k InputKind) String() string {
	switch k {
	case InputTokens:
		return "tokens"
	case InputFrames:
		return "frames"
	}
	return "InputKind(" + strconv.Itoa(int(k)) + ")"
}

// PluginKind is the kind of a registry entry.
type PluginKind int

// Plugin kinds (seqc_plugin_kind).
const (
	PluginLayer     PluginKind = 0
	PluginRecurrent PluginKind = 1
	PluginQuantizer PluginKind = 2
	PluginMemory    PluginKind = 3
)

var pluginKindNames = [...]string{"layer", "recurrent", "quantizer", "memory"}

func (k PluginKind) String() string {
	if k >= 0 && int(k) < len(pluginKindNames) {
		return pluginKindNames[k]
	}
	return "PluginKind(" + strconv.Itoa(int(k)) + ")"
}

// OutputMode selects which positions of a Forward call produce output.
type OutputMode int

// Output modes (seqc_output_mode).
const (
	// OutputAll: every position, n positions x output width floats.
	OutputAll OutputMode = 0
	// OutputLast: only the last position, output width floats.
	OutputLast OutputMode = 1
	// OutputNone: no output, the state is updated only (a prompt prefill).
	OutputNone OutputMode = 2
)

func (m OutputMode) String() string {
	switch m {
	case OutputAll:
		return "all"
	case OutputLast:
		return "last"
	case OutputNone:
		return "none"
	}
	return "OutputMode(" + strconv.Itoa(int(m)) + ")"
}
