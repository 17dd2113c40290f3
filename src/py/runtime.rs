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
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
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

/// Work on runtime threads that may touch Python and has not finished: completing an awaitable,
/// building an exception, emitting a log record.
static TOUCHING_PYTHON: AtomicUsize = AtomicUsize::new(0);
/// Set when the interpreter is about to shut down; from then on, runtime threads leave Python
/// alone. A thread inside Python while the interpreter finalizes crashes the process.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// Counts one piece of Python-touching work for as long as it lives.
struct Touching;

impl Touching {
    /// None once shutdown has begun. The count goes up before the flag is read (both SeqCst),
    /// so `at_exit` either sees this work and waits for it, or this work sees the flag.
    fn begin() -> Option<Touching> {
        TOUCHING_PYTHON.fetch_add(1, Ordering::SeqCst);
        let guard = Touching;
        (!SHUTTING_DOWN.load(Ordering::SeqCst)).then_some(guard)
    }
}

impl Drop for Touching {
    fn drop(&mut self) {
        TOUCHING_PYTHON.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` attached to Python from a runtime thread, unless the interpreter is shutting down.
pub fn with_python<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    let _guard = Touching::begin()?;
    Python::try_attach(f)
}

/// Builds a Python exception on a runtime thread; during shutdown, a plain RuntimeError (which
/// needs no interpreter to create).
pub fn error_from_runtime(e: crate::core::error::Error) -> PyErr {
    let text = e.to_string();
    with_python(|py| super::errors::to_pyerr(py, e)).unwrap_or_else(|| PyRuntimeError::new_err(text))
}

/// Registered with `atexit`: stops runtime threads from entering Python and waits (with the GIL
/// released, at most `timeout` seconds) for those already in to finish.
#[pyfunction]
#[pyo3(signature = (timeout=2.0))]
pub fn _at_exit(py: Python<'_>, timeout: f64) {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::try_from_secs_f64(timeout).unwrap_or(Duration::from_secs(2));
    py.detach(|| {
        while TOUCHING_PYTHON.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
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

    /// The bridge completes awaitables from here, attached to Python: counted, and skipped
    /// once shutdown has begun (the awaitable's loop is gone by then anyway).
    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        let Some(guard) = Touching::begin() else {
            return Box::pin(async { Ok(()) });
        };
        match spawn_handle() {
            Some(rt) => Box::pin(rt.spawn_blocking(move || {
                let _guard = guard;
                if !SHUTTING_DOWN.load(Ordering::SeqCst) {
                    f();
                }
            })),
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
