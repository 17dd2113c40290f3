//! pyo3-async-runtimes on this package's runtime, for the calls that are not on the hot path.
//!
//! A call started here captures the caller's task locals when its coroutine first runs: the
//! event loop, and a copy of the contextvars of the task awaiting it (so a `progress=` callback
//! runs in the caller's context). `future_into_py_with_locals` then runs it and completes the
//! loop's future. It runs through pyo3-async-runtimes' generic `Runtime`, implemented here for
//! the package's per-process tokio runtime (a forked child builds its own; the crate's tokio
//! flavour keeps one global runtime, which a child cannot rebuild), with one change of where
//! work happens: what the crate would run on a blocking-pool thread that takes the GIL (it sets
//! the future's result) runs on the loop's own thread, handed over through the loop's port. A
//! thread of ours that takes the GIL while the interpreter finalizes aborts the process; the
//! loop's thread is Python's own.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3_async_runtimes::generic::{self, ContextExt, JoinError, Runtime};
use pyo3_async_runtimes::TaskLocals;

use super::port::{Port, PortShared};
use crate::py::errors::{to_pyerr, IntoPyResult};
use crate::py::outcome::{CoreFuture, Outcome};
use crate::py::runtime::{runtime, IoRuntime};

/// Builds a call's future from the caller's task locals and its loop's port.
pub type WithLocals = Box<dyn FnOnce(TaskLocals, Arc<PortShared>) -> CoreFuture + Send>;

/// Where the tasks of one `future_into_py` call run, and where their loop work goes.
#[derive(Clone)]
struct Route {
    runtime: &'static IoRuntime,
    port: Arc<PortShared>,
}

tokio::task_local! {
    static ROUTE: Route;
    static LOCALS: TaskLocals;
}

thread_local! {
    /// The route of the call being started on this (the loop's) thread.
    static STARTING: RefCell<Option<Route>> = const { RefCell::new(None) };
}

/// pyo3-async-runtimes' view of the package's runtime.
struct Aio;

/// How a task of `Aio` ended.
enum Joined {
    Task(tokio::task::JoinHandle<()>),
    /// Handed to the loop (a completion; see `spawn_blocking`).
    Handed,
    /// Not started: no route (cannot happen: every call starts through `start`). Told as a
    /// panic, so that pyo3-async-runtimes completes the call with an error instead of leaving
    /// it waiting.
    Unrouted,
}

struct Stopped(Option<tokio::task::JoinError>);

impl JoinError for Stopped {
    fn is_panic(&self) -> bool {
        self.0.as_ref().is_none_or(tokio::task::JoinError::is_panic)
    }

    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        match self.0 {
            Some(e) if e.is_panic() => e.into_panic(),
            _ => Box::new("wawp_presence: a task started outside its call"),
        }
    }
}

impl Future for Joined {
    type Output = Result<(), Stopped>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Joined::Task(task) => Pin::new(task).poll(cx).map(|r| r.map_err(|e| Stopped(Some(e)))),
            Joined::Handed => Poll::Ready(Ok(())),
            Joined::Unrouted => Poll::Ready(Err(Stopped(None))),
        }
    }
}

fn route() -> Option<Route> {
    ROUTE.try_with(Route::clone).ok().or_else(|| STARTING.with_borrow(Option::clone))
}

impl Runtime for Aio {
    type JoinError = Stopped;
    type JoinHandle = Joined;

    fn spawn<F>(fut: F) -> Joined
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match route() {
            Some(route) => Joined::Task(route.runtime.spawn_or_drive_here(ROUTE.scope(route.clone(), fut))),
            None => Joined::Unrouted,
        }
    }

    /// pyo3-async-runtimes hands the completion of a call here (it takes the GIL): it runs on
    /// the loop's thread, at the port's next drain.
    fn spawn_blocking<F>(f: F) -> Joined
    where
        F: FnOnce() + Send + 'static,
    {
        match route() {
            Some(route) => {
                route.port.complete_on_loop(f);
                Joined::Handed
            }
            None => Joined::Unrouted,
        }
    }
}

impl ContextExt for Aio {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        Box::pin(LOCALS.scope(locals, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        LOCALS.try_with(TaskLocals::clone).ok()
    }
}

/// A call's outcome as pyo3-async-runtimes wants a value: made Python (or its error raised)
/// on the loop's thread.
struct Converted(Outcome);

impl<'py> IntoPyObject<'py> for Converted {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Ok(convert) => convert(py).map(|value| value.into_bound(py)),
            Err(e) => Err(to_pyerr(py, e)),
        }
    }
}

/// Starts a call with the running task's locals. Returns the future to await, and the future
/// pyo3-async-runtimes completes (cancelling it stops the call). The two are apart because the
/// latter is held by the call's task until it ends, and through it whatever awaits it: a task
/// left waiting on a loop that was closed could then never be collected, and its call would
/// never stop. The awaited one is completed from it through a weak reference.
pub fn start<'py>(
    port: &Bound<'py, Port>,
    event_loop: &Bound<'py, PyAny>,
    make: WithLocals,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let py = port.py();
    let runtime = runtime()?;
    // The driver thread must run for the tasks to progress: a failure to start it is this
    // call's error, not a call that never ends.
    runtime.ensure_driver().py_result(py)?;
    let locals = TaskLocals::new(event_loop.clone()).copy_context(py)?;
    let shared = port.get().shared();
    let fut = make(locals.clone(), Arc::clone(&shared));
    shared.begin_with_locals();
    STARTING.with_borrow_mut(|starting| *starting = Some(Route { runtime, port: Arc::clone(&shared) }));
    let future =
        generic::future_into_py_with_locals::<Aio, _, Converted>(py, locals, async move { Ok(Converted(fut.await)) });
    STARTING.with_borrow_mut(|starting| *starting = None);
    if future.is_err() {
        shared.complete_on_loop(|| ());
    }
    let completed = future?;
    port.get().ensure_pump(port, event_loop)?;
    let awaited = event_loop.call_method0(intern!(py, "create_future"))?;
    let relay = Relay { target: WEAKREF.import(py, "weakref", "ref")?.call1((&awaited,))?.unbind() };
    completed.call_method1(intern!(py, "add_done_callback"), (relay,))?;
    Ok((awaited, completed))
}

static WEAKREF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Passes a future's outcome on to another, if that one still exists and waits.
#[pyclass(module = "wawp_presence._native", frozen)]
struct Relay {
    target: Py<PyAny>,
}

#[pymethods]
impl Relay {
    fn __call__(&self, py: Python<'_>, done: &Bound<'_, PyAny>) -> PyResult<()> {
        let target = self.target.bind(py).call0()?;
        if target.is_none() || target.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(());
        }
        if done.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            target.call_method0(intern!(py, "cancel"))?;
            return Ok(());
        }
        match done.call_method0(intern!(py, "exception"))? {
            exc if exc.is_none() => {
                target.call_method1(intern!(py, "set_result"), (done.call_method0(intern!(py, "result"))?,))?
            }
            exc => target.call_method1(intern!(py, "set_exception"), (exc,))?,
        };
        Ok(())
    }
}
