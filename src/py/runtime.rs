//! The one tokio runtime shared by every client and fake server in the process, how a blocking
//! call waits on it, and how an async call becomes an asyncio awaitable.
//!
//! The runtime belongs to a process: after `os.fork()` the child has none of the parent's
//! threads, so the first use in the child builds a fresh runtime (the parent's is forgotten, as
//! it cannot be shut down from there). pyo3-async-runtimes pins a single runtime for the life of
//! the process, so its asyncio bridge is driven through its generic traits, implemented here over
//! this fork-aware runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3_async_runtimes::generic::{ContextExt, Runtime as BridgeRuntime};
use pyo3_async_runtimes::TaskLocals;
use tokio::runtime::{Builder, Runtime};

/// How long a blocking call sleeps before it looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK_SLICE: Duration = Duration::from_millis(50);

struct ProcessRuntime {
    pid: u32,
    runtime: Runtime,
}

/// The current process's runtime; replaced (never freed) when a fork is noticed.
static CURRENT: AtomicPtr<ProcessRuntime> = AtomicPtr::new(std::ptr::null_mut());

pub fn runtime() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    let seen = CURRENT.load(Ordering::Acquire);
    // SAFETY: every pointer stored in CURRENT comes from Box::leak and is never freed.
    if let Some(current) = unsafe { seen.as_ref() } {
        if current.pid == pid {
            return Ok(&current.runtime);
        }
    }
    let runtime = Builder::new_multi_thread()
        .enable_all()
        .thread_name("wawp-presence")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
    let fresh = Box::into_raw(Box::new(ProcessRuntime { pid, runtime }));
    match CURRENT.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
        // SAFETY: `fresh` was just leaked into CURRENT and is never freed.
        Ok(_) => Ok(unsafe { &(*fresh).runtime }),
        Err(winner) => {
            // Another thread installed one first: use it and shut ours down (it ran nothing).
            // SAFETY: `fresh` was never published, so this is its only owner.
            let ours = unsafe { Box::from_raw(fresh) };
            ours.runtime.shutdown_background();
            // SAFETY: as above, published pointers are never freed.
            Ok(unsafe { &(*winner).runtime })
        }
    }
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
    super::logging::refresh(py);
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

/// Turns `fut` into an asyncio awaitable running on the shared runtime. Cancelling the awaitable
/// drops the future, which aborts its HTTP request.
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    runtime()?;
    super::logging::refresh(py);
    pyo3_async_runtimes::generic::future_into_py::<SharedRuntime, F, T>(py, fut)
}

/// pyo3-async-runtimes' view of the shared runtime.
struct SharedRuntime;

tokio::task_local! {
    static TASK_LOCALS: OnceLock<TaskLocals>;
}

/// Only reached after `awaitable` has made sure a runtime exists for this process; if building
/// one failed in between, the task is dropped and its awaitable never completes, which
/// `runtime()` already reported as an exception at the call.
fn spawn_handle() -> Option<&'static Runtime> {
    runtime().ok()
}

impl BridgeRuntime for SharedRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = Pin<Box<dyn Future<Output = Result<(), tokio::task::JoinError>> + Send>>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match spawn_handle() {
            Some(rt) => Box::pin(rt.spawn(fut)),
            None => Box::pin(async { Ok(()) }),
        }
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        match spawn_handle() {
            Some(rt) => Box::pin(rt.spawn_blocking(f)),
            None => Box::pin(async { Ok(()) }),
        }
    }
}

impl ContextExt for SharedRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceLock::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).ok().flatten()
    }
}
