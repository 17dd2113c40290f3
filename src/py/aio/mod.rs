//! The asyncio side of the bindings: the coroutine the async client's methods return
//! (`coroutine`), the per-loop port that hands results back to the loop's thread (`port`, with
//! its wake-up socket in `wake`), and pyo3-async-runtimes run on the package's runtime
//! (`locals`). The README's "Concurrency" lists the rules they keep.

pub mod coroutine;
mod locals;
pub mod port;
mod wake;

pub use coroutine::{Call, Done};
pub use locals::WithLocals;
pub use port::PortShared;

use pyo3::prelude::*;

/// `Call` and `Done` need no registration as `collections.abc.Coroutine`s: the ABC recognises any
/// class with `__await__`, `send`, `throw` and `close` (and importing `collections.abc` at start-up
/// would cost more than the rest of the module).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Call>()?;
    m.add_class::<Done>()?;
    m.add_class::<port::Port>()?;
    Ok(())
}

#[cfg(test)]
mod tests;
