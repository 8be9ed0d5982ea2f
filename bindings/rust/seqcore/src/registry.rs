//! The registry: the plugins (layers, recurrent blocks, quantizers, memories)
//! this library can run.
//!
//! ```
//! for plugin in seqcore::registry::plugins() {
//!     println!("{:<24} {:?} v{}  {}", plugin.name, plugin.kind, plugin.version, plugin.summary);
//! }
//! let json = seqcore::registry::describe("recurrent/lstm")?;
//! assert!(json.starts_with('{'));
//! # Ok::<(), seqcore::Error>(())
//! ```

use seqcore_sys as sys;

use crate::error::{c_name, cstr_to_string, Result};
use crate::model::read_two_call;

/// The four kinds of registry entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginKind {
    /// A stateless layer (linear, embedding, norm, activation).
    Layer,
    /// A recurrent block with state (LSTM, GRU).
    Recurrent,
    /// A weight quantizer.
    Quantizer,
    /// A memory block.
    Memory,
    /// A kind this crate does not know, from a newer library.
    Other(i32),
}

impl PluginKind {
    fn from_raw(raw: i32) -> PluginKind {
        match raw {
            r if r == sys::SEQC_PLUGIN_LAYER as i32 => PluginKind::Layer,
            r if r == sys::SEQC_PLUGIN_RECURRENT as i32 => PluginKind::Recurrent,
            r if r == sys::SEQC_PLUGIN_QUANTIZER as i32 => PluginKind::Quantizer,
            r if r == sys::SEQC_PLUGIN_MEMORY as i32 => PluginKind::Memory,
            r => PluginKind::Other(r),
        }
    }
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Plugin {
    /// Full name, as model files use it (`"recurrent/lstm"`).
    pub name: String,
    /// What kind of plugin.
    pub kind: PluginKind,
    /// Version of its implementation.
    pub version: u32,
    /// One-line summary.
    pub summary: String,
}

/// Every registered plugin, in the registry's order.
pub fn plugins() -> Vec<Plugin> {
    let n = unsafe { sys::seqc_registry_count() };
    (0..n)
        .map(|i| unsafe {
            Plugin {
                name: cstr_to_string(sys::seqc_registry_name(i)).unwrap_or_default(),
                kind: PluginKind::from_raw(sys::seqc_registry_kind(i)),
                version: sys::seqc_registry_version(i),
                summary: cstr_to_string(sys::seqc_registry_summary(i)).unwrap_or_default(),
            }
        })
        .collect()
}

/// A plugin's descriptor as JSON: config schema, weights, state layout,
/// capabilities.
///
/// # Errors
/// [`Status::NotFound`](crate::Status::NotFound) for a name the registry
/// does not hold.
pub fn describe(name: &str) -> Result<String> {
    let c = c_name("plugin name", name)?;
    read_two_call(|buf, cap, len| unsafe { sys::seqc_registry_describe(c.as_ptr(), buf, cap, len) })
}
