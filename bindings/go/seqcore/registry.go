package seqcore

import "github.com/libseqcore/libseqcore/bindings/go/internal/cseqcore"

// Plugin is an entry of the library's plugin registry.
type Plugin struct {
	Name    string     // full name, "recurrent/lstm"
	Kind    PluginKind // what it provides
	Version uint32     // version of its implementation
	Summary string     // one-line summary
}

// Plugins lists the registered plugins.
func Plugins() (plugins []Plugin, err error) {
	defer recoverError(&err)
	n := cseqcore.Registry_count()
	plugins = make([]Plugin, 0, n)
	for i := int64(0); i < n; i++ {
		plugins = append(plugins, Plugin{
			Name:    cseqcore.Registry_name(i),
			Kind:    PluginKind(cseqcore.Registry_kind(i)),
			Version: uint32(cseqcore.Registry_version(i)),
			Summary: cseqcore.Registry_summary(i),
		})
	}
	return plugins, nil
}

// DescribePlugin returns a plugin's descriptor as JSON (config schema,
// weights, state layout, capabilities); ErrNotFound for an unknown name.
func DescribePlugin(name string) (json string, err error) {
	defer recoverError(&err)
	return cseqcore.Registry_describe(name), nil
}

// Convert reads the model file src (a native file, or a PyTorch state dict),
// checks that it builds, and writes dst as a canonical native file. dst is
// written to a temporary file and renamed, so it is never left half-written.
func Convert(src, dst string) (err error) {
	defer recoverError(&err)
	cseqcore.Convert(src, dst)
	return nil
}
