//! wawp-presence: WhatsApp presence through the Wawp API and self-hosted WAHA servers.
//!
//! `core` is the client in pure Rust; `fake` (feature `fake`) is a real HTTP server that behaves
//! like Wawp or WAHA, for tests and benchmarks; `py` (feature `python`) is the pyo3 binding that maturin
//! builds into `wawp_presence._native`.

pub mod core;
#[cfg(feature = "fake")]
pub mod fake;

#[cfg(feature = "python")]
mod py;

#[cfg(feature = "python")]
#[pyo3::pymodule]
fn _native(m: &pyo3::Bound<'_, pyo3::types::PyModule>) -> pyo3::PyResult<()> {
    py::register(m)
}
