//! An event loop's port: where the work of its calls comes back to it.
//!
//! Every call runs on the I/O runtime, never on the loop's thread. The calls first sent to in one
//! turn of the loop (a `gather`'s, or those of the tasks a burst of answers woke) are handed to
//! the runtime together at the end of that turn, as one task that starts them all: one wake-up
//! of the runtime's thread per turn, not one per call. What a runtime thread has
//! for the loop (a call's outcome, or a small job that needs the GIL: a progress report, the
//! completion of a `future_into_py` call) is queued here without the GIL, and the loop is woken
//! by one byte on a socket, written only when the queue was empty: one wake-up of the loop takes
//! everything that arrived meanwhile, so a burst of answers costs the loop one turn, not one
//! per answer. On the loop's thread, with the GIL, `drain` completes the futures and runs the
//! jobs.
//!
//! The loop watches the socket with `add_reader` where it has it (the selector loops of Linux
//! and macOS, uvloop). A loop without it (Windows' `ProactorEventLoop`) is served by a small
//! task on that loop (`wawp_presence._aio.pump`) that awaits `loop.sock_recv` on the socket
//! while calls wait, and drains after each wake-up. So no thread of ours ever takes the GIL:
//! a foreign thread that takes it while the interpreter is finalizing aborts the process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::{AbortHandle, Abortable};
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::wake::Wake;
use crate::core::error::{Error, ErrorKind};
use crate::py::errors::to_pyerr;
use crate::py::outcome::{CoreFuture, Outcome};
use crate::py::runtime::runtime;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Work for the loop's thread, run there with the GIL.
pub type LoopJob = Box<dyn FnOnce(Python<'_>) -> PyResult<()> + Send>;

enum Job {
    /// A call's outcome, for the future waiting under its key.
    Finished(u64, Outcome),
    Run(LoopJob),
}

/// A call waiting for its outcome: a weak reference to its asyncio future (only the coroutine
/// holds it strongly, so an abandoned coroutine is collected like any other), and its task.
struct Waiter {
    future: Py<PyAny>,
    /// Stops the call's work, whether its task has started yet or not.
    work: AbortHandle,
}

/// A call whose work is waiting for this round's start.
struct Unstarted {
    key: u64,
    work: Abortable<CoreFuture>,
}

pub struct PortShared {
    /// Work from the runtime threads, waiting for the loop.
    jobs: Mutex<Vec<Job>>,
    /// Set when a byte is on its way to the loop; cleared by the loop before it takes `jobs`.
    signalled: AtomicBool,
    wake: Wake,
    /// The calls waiting for an outcome, by key. Changed on the loop's thread (and by a
    /// coroutine's cleanup, wherever it is collected).
    waiting: Mutex<HashMap<u64, Waiter>>,
    next_key: AtomicU64,
    /// Calls sent to for the first time in this turn of the loop, started together at its end.
    unstarted: Mutex<Vec<Unstarted>>,
    /// Calls started through pyo3-async-runtimes (`locals`) whose completion has not run yet.
    with_locals: AtomicUsize,
    /// Served by a pump task (the loop has no `add_reader`); decided when the port is made.
    pumped: AtomicBool,
}

impl PortShared {
    /// From any thread, without the GIL.
    fn push(&self, job: Job) {
        lock(&self.jobs).push(job);
        if !self.signalled.swap(true, Ordering::AcqRel) {
            self.wake.signal();
        }
    }

    /// A call's outcome, from a runtime thread.
    fn finish(&self, key: u64, outcome: Outcome) {
        self.push(Job::Finished(key, outcome));
    }

    /// Runs `job` on the loop's thread, with the GIL, at the loop's next wake-up.
    pub fn run_on_loop(&self, job: LoopJob) {
        self.push(Job::Run(job));
    }

    /// A call through pyo3-async-runtimes starts; `completed` runs with its completion job.
    pub fn begin_with_locals(&self) {
        self.with_locals.fetch_add(1, Ordering::AcqRel);
    }

    /// Runs the completion of a call through pyo3-async-runtimes on the loop's thread.
    pub fn complete_on_loop(self: &Arc<Self>, completion: impl FnOnce() + Send + 'static) {
        let me = Arc::clone(self);
        self.run_on_loop(Box::new(move |_| {
            me.with_locals.fetch_sub(1, Ordering::AcqRel);
            completion();
            Ok(())
        }));
    }

    /// Abandons a call: its task is aborted, which drops its request and closes its connection.
    pub fn cancel(&self, key: u64) {
        let mut waiting = lock(&self.waiting);
        if let Some(waiter) = waiting.remove(&key) {
            waiter.work.abort();
        }
        // A pump waiting for this call's outcome would wait forever: let it see nothing waits.
        if self.pumped.load(Ordering::Relaxed) && waiting.is_empty() {
            drop(waiting);
            self.wake.signal();
        }
    }

    /// Completes the future of `key` with `outcome`, on the loop's thread.
    fn deliver(&self, py: Python<'_>, key: u64, outcome: Outcome) -> PyResult<()> {
        let Some(waiter) = lock(&self.waiting).remove(&key) else {
            return Ok(()); // cancelled meanwhile
        };
        let future = waiter.future.bind(py).call0()?;
        if future.is_none() || future.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(()); // its coroutine is gone, or its task was cancelled
        }
        match outcome.map_err(|e| to_pyerr(py, e)).and_then(|convert| convert(py)) {
            Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
            Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?,
        };
        Ok(())
    }
}

/// One event loop's port.
#[pyclass(module = "wawp_presence._native", name = "Port", frozen)]
pub struct Port {
    pub(super) shared: Arc<PortShared>,
    /// The end of the socket pair the loop watches (a Python socket).
    reader: Py<PyAny>,
    /// Whether a pump task runs (only for a loop without `add_reader`).
    pumping: AtomicBool,
    /// The `fork::generation()` the port was made in: a forked child makes its own.
    generation: u64,
}

thread_local! {
    /// The port of the loop this thread ran last (a weak reference to the loop, and the port).
    static LAST: RefCell<Option<(Py<PyAny>, Py<Port>)>> = const { RefCell::new(None) };
}

static PORTS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WEAKREF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SOCKETPAIR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PUMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl Port {
    /// The running loop and its port, made and registered on first use.
    pub fn for_running_loop(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, Port>)> {
        let event_loop = pyo3_async_runtimes::get_running_loop(py)?;
        let generation = crate::core::fork::generation();
        let cached = LAST.with_borrow(|last| {
            last.as_ref().and_then(|(weak, port)| {
                let alive = weak.bind(py).call0().ok()?;
                (alive.is(&event_loop) && port.get().generation == generation).then(|| port.clone_ref(py))
            })
        });
        if let Some(port) = cached {
            return Ok((event_loop, port.into_bound(py)));
        }
        // Another loop than last time on this thread: look it up, or make its port.
        let ports = PORTS
            .get_or_try_init(py, || py.import("weakref")?.getattr("WeakKeyDictionary")?.call0().map(Bound::unbind))?
            .bind(py);
        let port = match ports.call_method1(intern!(py, "get"), (&event_loop,))? {
            found if !found.is_none() && found.cast::<Port>()?.get().generation == generation => {
                found.cast_into::<Port>()?
            }
            _ => {
                let port = Port::attach(&event_loop)?;
                ports.set_item(&event_loop, &port)?;
                port
            }
        };
        let weak = WEAKREF.import(py, "weakref", "ref")?.call1((&event_loop,))?;
        LAST.with_borrow_mut(|last| *last = Some((weak.unbind(), port.clone().unbind())));
        Ok((event_loop, port))
    }

    /// A new port for `event_loop`: a socket pair, the reading end watched by the loop.
    pub(super) fn attach<'py>(event_loop: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Port>> {
        let py = event_loop.py();
        let pair = SOCKETPAIR.import(py, "socket", "socketpair")?.call0()?;
        let (reader, writer): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
        let fileno = |s: &Bound<'_, PyAny>| -> PyResult<i64> { s.call_method0(intern!(py, "fileno"))?.extract() };
        let wake = Wake::new(fileno(&reader)?, fileno(&writer)?)
            .map_err(|e| PyRuntimeError::new_err(format!("cannot make the asyncio wake-up socket: {e}")));
        // This side holds its own clone of the writing end.
        writer.call_method0(intern!(py, "close"))?;
        let wake = wake?;
        reader.call_method1(intern!(py, "setblocking"), (false,))?;
        let port = Bound::new(
            py,
            Port {
                shared: Arc::new(PortShared {
                    jobs: Mutex::new(Vec::new()),
                    signalled: AtomicBool::new(false),
                    wake,
                    waiting: Mutex::new(HashMap::new()),
                    next_key: AtomicU64::new(0),
                    unstarted: Mutex::new(Vec::new()),
                    with_locals: AtomicUsize::new(0),
                    pumped: AtomicBool::new(false),
                }),
                reader: reader.clone().unbind(),
                pumping: AtomicBool::new(false),
                generation: crate::core::fork::generation(),
            },
        )?;
        // Watched by the loop's selector where it can be; otherwise, by a pump.
        let add_reader = event_loop.getattr(intern!(py, "add_reader"))?;
        match add_reader.call1((&reader, port.getattr(intern!(py, "drain"))?)) {
            Ok(_) => {}
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py) => {
                port.get().shared.pumped.store(true, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
        Ok(port)
    }

    /// Starts a call: spawns `fut` on the I/O runtime and returns the loop's future that its
    /// outcome will complete, with the key to cancel it by.
    pub fn start<'py>(
        port: &Bound<'py, Port>,
        event_loop: &Bound<'py, PyAny>,
        fut: CoreFuture,
    ) -> PyResult<(Bound<'py, PyAny>, u64)> {
        let py = port.py();
        let me = port.get();
        let shared = &me.shared;
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let weak = WEAKREF.import(py, "weakref", "ref")?.call1((&future,))?;
        let key = shared.next_key.fetch_add(1, Ordering::Relaxed);
        let (work, registration) = AbortHandle::new_pair();
        lock(&shared.waiting).insert(key, Waiter { future: weak.unbind(), work });
        // The calls of one turn of the loop (a gather's, or the tasks a burst of answers woke)
        // reach the runtime together: one hand-over between threads for all of them.
        let first = {
            let mut unstarted = lock(&shared.unstarted);
            unstarted.push(Unstarted { key, work: Abortable::new(fut, registration) });
            unstarted.len() == 1
        };
        if first {
            event_loop.call_method1(intern!(py, "call_soon"), (port.getattr(intern!(py, "start_round"))?,))?;
        }
        me.ensure_pump(port, event_loop)?;
        Ok((future, key))
    }

    /// The end of the socket pair the loop watches.
    #[cfg(test)]
    pub(super) fn reader(&self) -> &Py<PyAny> {
        &self.reader
    }

    /// The port to hand loop jobs to; see `run_on_loop`.
    pub fn shared(&self) -> Arc<PortShared> {
        Arc::clone(&self.shared)
    }

    /// For a loop without `add_reader`: a pump task runs while calls wait.
    pub fn ensure_pump(&self, port: &Bound<'_, Port>, event_loop: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.shared.pumped.load(Ordering::Relaxed) || self.pumping.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let py = port.py();
        let pump = PUMP.import(py, "wawp_presence._aio", "pump")?;
        let started = pump
            .call1((event_loop, self.reader.bind(py), port))
            .and_then(|coro| event_loop.call_method1(intern!(py, "create_task"), (coro,)));
        if started.is_err() {
            self.pumping.store(false, Ordering::Release);
        }
        started.map(drop)
    }
}

#[pymethods]
impl Port {
    /// Completes every future whose outcome has arrived and runs every job; the loop's reader
    /// callback, and the pump's step.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        self.shared.wake.empty();
        self.shared.signalled.store(false, Ordering::SeqCst);
        let jobs = std::mem::take(&mut *lock(&self.shared.jobs));
        crate::py::logging::emit_pending(py);
        // One that fails does not keep the others waiting; the first error is raised after, for
        // the loop to report.
        let mut first_error = None;
        for job in jobs {
            let done = match job {
                Job::Finished(key, outcome) => self.shared.deliver(py, key, outcome),
                Job::Run(job) => job(py),
            };
            if let Err(err) = done {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Starts this turn's calls on the runtime: one task that starts each (within the runtime,
    /// a task starts another without waking any thread). A runtime that cannot be had fails
    /// each call rather than leaving it waiting.
    fn start_round(&self, py: Python<'_>) -> PyResult<()> {
        let round = std::mem::take(&mut *lock(&self.shared.unstarted));
        if round.is_empty() {
            return Ok(());
        }
        let keys: Vec<u64> = round.iter().map(|call| call.key).collect();
        let shared = Arc::clone(&self.shared);
        let started = runtime().map_err(|e| Error::new(ErrorKind::Closed, e.value(py).to_string())).and_then(|rt| {
            rt.spawn(async move {
                for Unstarted { key, work } in round {
                    let reporting = Arc::clone(&shared);
                    let task = rt.spawn(async move {
                        // Aborted: its coroutine is gone or cancelled, and nothing waits for it.
                        if let Ok(outcome) = work.await {
                            reporting.finish(key, outcome);
                        }
                    });
                    if let Err(e) = task {
                        shared.finish(key, Err(e));
                    }
                }
            })
        });
        if let Err(e) = started {
            // Nothing was started: each call of the round ends with the reason.
            for key in keys {
                self.shared.finish(key, Err(e.clone()));
            }
        }
        Ok(())
    }

    /// Whether any call still waits (the pump runs while one does).
    fn waiting(&self) -> bool {
        self.shared.with_locals.load(Ordering::Acquire) > 0 || !lock(&self.shared.waiting).is_empty()
    }

    /// The pump ended (nothing waited, or its task was cancelled with its loop).
    fn pump_ended(&self) {
        self.pumping.store(false, Ordering::Release);
    }
}
