//! The one tokio runtime shared by every client and fake server in the process, and the way a
//! blocking call waits on it: in short slices with the GIL released, so Ctrl-C is seen quickly.

use std::future::Future;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};

/// How long a blocking call sleeps before it looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK_SLICE: Duration = Duration::from_millis(50);

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

pub fn runtime() -> PyResult<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let built = Builder::new_multi_thread()
        .enable_all()
        .thread_name("wawp-presence")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
    let rt = RUNTIME.get_or_init(|| built);
    // The asyncio bridge spawns on the same runtime; it refuses a second init, which is fine.
    let _ = pyo3_async_runtimes::tokio::init_with_runtime(rt);
    Ok(rt)
}

/// Runs `fut` on the shared runtime and waits for it with the GIL released. A pending signal
/// (KeyboardInterrupt) aborts the task and is raised; a task that dies without an answer is a
/// `RuntimeError`, never a crash.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking wawp_presence call was made on an async runtime thread; use AsyncPresenceClient there",
        ));
    }
    let rt = runtime()?;
    let (tx, rx) = mpsc::sync_channel(1);
    let task = rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    let mut rx = rx;
    loop {
        // The receiver moves into the GIL-free closure and back (it is Send, not Sync).
        let (received, back) = py.detach(move || (rx.recv_timeout(SIGNAL_CHECK_SLICE), rx));
        rx = back;
        match received {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(signal) = py.check_signals() {
                    task.abort();
                    return Err(signal);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the call ended without an answer (its task stopped)"));
            }
        }
    }
}
