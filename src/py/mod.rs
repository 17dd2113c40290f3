//! pyo3 bindings: translation between Python and the core, nothing more.

pub mod aio;
pub mod args;
pub mod client;
pub mod errors;
#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "fake")]
mod fake_args;
pub mod flavor;
pub mod hold;
pub mod logging;
pub mod many;
pub mod models;
pub mod options;
pub mod outcome;
pub mod runtime;
pub mod table;
pub mod watch;
pub mod webhook;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    models::register(m)?;
    client::register(m)?;
    hold::register(m)?;
    #[cfg(feature = "fake")]
    fake::register(m)?;
    watch::register(m)?;
    webhook::register(m)?;
    table::register(m)?;
    aio::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
