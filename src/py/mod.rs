//! pyo3 bindings: translation between Python and the core, nothing more.

pub mod args;
pub mod bridge;
pub mod client;
pub mod errors;
#[cfg(feature = "fake")]
pub mod fake;
pub mod logging;
pub mod models;
pub mod options;
pub mod outcome;
pub mod port;
pub mod runtime;
pub mod typing;
pub mod watch;
pub mod webhook;

use pyo3::prelude::*;

/// Which Python client a value belongs to, and so how its calls are made: `PresenceClient`'s
/// block until done, `AsyncPresenceClient`'s return awaitables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Blocking,
    Asyncio,
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    models::register(m)?;
    client::register(m)?;
    typing::register(m)?;
    #[cfg(feature = "fake")]
    fake::register(m)?;
    watch::register(m)?;
    webhook::register(m)?;
    bridge::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
