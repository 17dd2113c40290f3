//! The coroutine every awaitable method of the async client returns.
//!
//! A `Call` has `send`, `throw`, `close` and `__await__`, so `collections.abc.Coroutine`
//! recognises it, and it works with `await`, `asyncio.run`, `create_task`, `TaskGroup`,
//! `wait_for`, `gather` and anyio. Nothing happens until it is first sent to; then its work
//! starts on the I/O runtime (through the loop's port, or through pyo3-async-runtimes with the
//! caller's task locals) and it awaits the loop's future that the work completes, exactly as
//! `await future` does: so every awaited call suspends its task at least once. Cancelling the
//! task (or closing or dropping the coroutine) stops the work, which closes its connection. A
//! coroutine collected without ever being awaited warns, as Python's own do.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::{AbortHandle, Abortable};
use pyo3::exceptions::{PyRuntimeError, PyRuntimeWarning, PyStopIteration, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{PyTraverseError, PyVisit};

use super::locals::{self, WithLocals};
use super::port::{Port, PortShared};
use crate::core::error::{Error, ErrorKind};
use crate::py::outcome::CoreFuture;

/// How a call's work is started.
pub enum Start {
    /// The hot path: spawned as it is, its outcome delivered through the loop's port.
    Port(CoreFuture),
    /// Through pyo3-async-runtimes with the caller's task locals.
    WithLocals(WithLocals),
}

/// How a started call is stopped.
enum Stop {
    Port(Arc<PortShared>, u64),
    /// pyo3-async-runtimes' task stops when its future is cancelled, which takes a turn of a
    /// loop that may be closed already: the work is also aborted directly.
    WithLocals(AbortHandle, Py<PyAny>),
}

enum State {
    NotStarted(Start),
    /// Awaiting the loop's `future` through its own `__await__` iterator.
    Waiting {
        future: Py<PyAny>,
        awaiting: Py<PyAny>,
        stop: Stop,
    },
    Finished,
}

/// An awaitable call of the async client, as a coroutine.
#[pyclass(module = "wawp_presence._native", name = "Call", frozen)]
pub struct Call {
    state: Mutex<State>,
    /// What Python's own coroutine would be named: `AsyncPresenceClient.get`, `Watch.__anext__`.
    qualname: &'static str,
}

impl Call {
    /// A call on the hot path.
    pub fn new(qualname: &'static str, fut: CoreFuture) -> Call {
        Call { state: Mutex::new(State::NotStarted(Start::Port(fut))), qualname }
    }

    /// A call that wants the caller's task locals (its context), or that is not on the hot path.
    pub fn with_locals(qualname: &'static str, make: WithLocals) -> Call {
        Call { state: Mutex::new(State::NotStarted(Start::WithLocals(make))), qualname }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops what runs for this call, if anything; with `py`, a future to cancel is cancelled.
    fn stop(py: Python<'_>, previous: State) {
        if let State::Waiting { future, stop, .. } = previous {
            match stop {
                Stop::Port(port, key) => port.cancel(key),
                Stop::WithLocals(work, completed) => {
                    work.abort();
                    // A future already done (or of a closed loop) refuses to be cancelled: the
                    // work is stopped either way.
                    let _ = completed.bind(py).call_method0(intern!(py, "cancel"));
                    let _ = future.bind(py).call_method0(intern!(py, "cancel"));
                }
            }
        }
    }

    /// Starts the work and returns the loop's future to await.
    fn begin<'py>(py: Python<'py>, start: Start) -> PyResult<(Bound<'py, PyAny>, Stop)> {
        crate::py::logging::refresh(py);
        let (event_loop, port) = Port::for_running_loop(py)?;
        match start {
            Start::Port(fut) => {
                let (future, key) = Port::start(&port, &event_loop, fut)?;
                Ok((future, Stop::Port(port.get().shared(), key)))
            }
            Start::WithLocals(make) => {
                let (work, registration) = AbortHandle::new_pair();
                let make: WithLocals = Box::new(move |locals, port| {
                    let fut = Abortable::new(make(locals, port), registration);
                    Box::pin(async move {
                        fut.await.unwrap_or_else(|_| Err(Error::new(ErrorKind::Closed, "the call was cancelled")))
                    })
                });
                let (awaited, completed) = locals::start(&port, &event_loop, make)?;
                Ok((awaited, Stop::WithLocals(work, completed.unbind())))
            }
        }
    }

    /// One step of `await future`: the iterator yields the future until it is done, then ends
    /// with its result (as `StopIteration`) or raises its exception.
    fn step(&self, py: Python<'_>, awaiting: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let stepped = awaiting.call_method1(intern!(py, "send"), (value,));
        if stepped.is_err() {
            *self.lock() = State::Finished;
        }
        stepped.map(Bound::unbind)
    }

    fn warn_never_awaited(&self, py: Python<'_>) {
        let message = format!("coroutine '{}' was never awaited", self.qualname);
        let Ok(message) = std::ffi::CString::new(message) else { return };
        if let Err(err) = PyErr::warn(py, &py.get_type::<PyRuntimeWarning>(), &message, 1) {
            // Raised as an error by the warnings filter: as for Python's own, it cannot propagate
            // out of a finalizer.
            err.write_unraisable(py, None);
        }
    }
}

impl Drop for Call {
    /// A coroutine dropped while its work runs (its task destroyed with a closed loop, say)
    /// takes the work with it; one never started warns that it was never awaited.
    fn drop(&mut self) {
        let state = std::mem::replace(self.state.get_mut().unwrap_or_else(PoisonError::into_inner), State::Finished);
        if matches!(state, State::Finished) {
            return;
        }
        // A pyclass is dropped by its deallocation, with the GIL.
        Python::try_attach(|py| match state {
            State::NotStarted(_) => self.warn_never_awaited(py),
            waiting => Call::stop(py, waiting),
        });
    }
}

#[pymethods]
impl Call {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        Self::send(slf, slf.py().None().bind(slf.py()))
    }

    /// Starts the call on the first send, then steps the await of its future.
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let mut state = me.lock();
        let awaiting = match std::mem::replace(&mut *state, State::Finished) {
            State::NotStarted(start) => {
                drop(state);
                let (future, stop) = Self::begin(py, start)?;
                let awaiting = future.call_method0(intern!(py, "__await__"))?;
                *me.lock() = State::Waiting { future: future.unbind(), awaiting: awaiting.clone().unbind(), stop };
                awaiting
            }
            State::Waiting { future, awaiting, stop } => {
                let stepping = awaiting.clone_ref(py).into_bound(py);
                *state = State::Waiting { future, awaiting, stop };
                drop(state);
                stepping
            }
            State::Finished => return Err(PyRuntimeError::new_err("cannot reuse already awaited coroutine")),
        };
        me.step(py, &awaiting, value)
    }

    /// Raises `exc` here: the task was cancelled (or the caller threw something in). What runs
    /// for the call is stopped, which closes its connection.
    #[pyo3(signature = (exc, value=None, traceback=None))]
    fn throw(
        &self,
        py: Python<'_>,
        exc: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let previous = std::mem::replace(&mut *self.lock(), State::Finished);
        Call::stop(py, previous);
        Err(thrown(py, exc, value, traceback)?)
    }

    /// Abandons the call; nothing more is sent, and what runs is stopped.
    fn close(&self, py: Python<'_>) {
        let previous = std::mem::replace(&mut *self.lock(), State::Finished);
        Call::stop(py, previous);
    }

    /// The cycle coroutine -> future -> task -> coroutine is the garbage collector's to break.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(state) = self.state.try_lock() {
            if let State::Waiting { future, awaiting, .. } = &*state {
                visit.call(future)?;
                visit.call(awaiting)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let previous = std::mem::replace(&mut *self.lock(), State::Finished);
        Python::try_attach(|py| Call::stop(py, previous));
    }

    #[getter]
    fn __name__(&self) -> &'static str {
        self.qualname.rsplit('.').next().unwrap_or(self.qualname)
    }

    #[getter]
    fn __qualname__(&self) -> &'static str {
        self.qualname
    }

    fn __repr__(&self) -> String {
        format!("<coroutine {}>", self.qualname)
    }
}

/// The exception `throw(exc, value, traceback)` raises, as a generator's `throw` builds it.
fn thrown(
    py: Python<'_>,
    exc: &Bound<'_, PyAny>,
    value: Option<&Bound<'_, PyAny>>,
    traceback: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyErr> {
    let instance = if exc.is_instance_of::<PyType>() {
        match value.filter(|v| !v.is_none()) {
            Some(v) if v.is_instance(exc)? => v.clone(),
            Some(v) => exc.call1((v,))?,
            None => exc.call0()?,
        }
    } else {
        exc.clone()
    };
    if let Some(tb) = traceback.filter(|t| !t.is_none()) {
        instance.call_method1(intern!(py, "with_traceback"), (tb,))?;
    }
    if !instance.is_instance(&py.get_type::<pyo3::exceptions::PyBaseException>())? {
        return Err(PyTypeError::new_err("exceptions must derive from BaseException"));
    }
    Ok(PyErr::from_value(instance))
}

/// An awaitable that is already done (`close()`, `__aenter__`): a coroutine too, ending with
/// `value` on its first send. Nothing is lost if it is never awaited, so it does not warn.
#[pyclass(module = "wawp_presence._native", name = "Done", frozen)]
pub struct Done {
    value: Mutex<Option<Py<PyAny>>>,
}

impl Done {
    pub fn new(value: Py<PyAny>) -> Done {
        Done { value: Mutex::new(Some(value)) }
    }
}

#[pymethods]
impl Done {
    fn __await__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self) -> PyResult<Py<PyAny>> {
        match self.value.lock().unwrap_or_else(PoisonError::into_inner).take() {
            Some(value) => Err(PyStopIteration::new_err((value,))),
            None => Err(PyRuntimeError::new_err("cannot reuse already awaited coroutine")),
        }
    }

    fn send(&self, _value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__next__()
    }

    #[pyo3(signature = (exc, value=None, traceback=None))]
    fn throw(
        &self,
        py: Python<'_>,
        exc: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.close();
        Err(thrown(py, exc, value, traceback)?)
    }

    fn close(&self) {
        self.value.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}
