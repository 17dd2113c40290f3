//! asyncio without a runtime thread ever taking the GIL.
//!
//! An async method returns a `Call`: a coroutine (it has `send`, `throw`, `close` and
//! `__await__`, and is registered as a `collections.abc.Coroutine`), so it works with `await`,
//! `asyncio.run`, `create_task`, `TaskGroup`, `wait_for`, `gather` and anyio. Nothing happens
//! until it is first sent to: then the core future is spawned on the I/O runtime and the call
//! yields an asyncio future of the running loop. When the core future ends, its outcome goes into
//! that loop's `Port` (a queue and a socket the loop watches with `add_reader`); the runtime
//! thread only writes one byte, and only when the queue was empty, so one wake-up of the loop
//! delivers every result that arrived meanwhile. The loop thread turns outcomes into Python
//! objects and completes the futures. Cancelling the task (or closing or dropping the
//! coroutine) aborts the core future, which closes its connection.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::{PyRuntimeError, PyStopIteration, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::{PyTraverseError, PyVisit};

use super::errors::to_pyerr;
use super::outcome::{CoreFuture, Outcome};
use super::port::{Port, PortShared, Started};

enum State {
    /// Not sent to yet: nothing has happened.
    NotStarted(CoreFuture),
    /// Handed to the loop's port; `future` is the asyncio future that the port completes, known
    /// to it by `key`. Only the call holds the future strongly (the port keeps a weak reference),
    /// so a call abandoned with its task is collected, and its request aborted, like any other
    /// coroutine.
    Waiting {
        future: Py<PyAny>,
        port: Arc<PortShared>,
        key: u64,
    },
    Finished,
}

/// An awaitable call of the async client, as a coroutine.
#[pyclass(module = "wawp_presence._native", name = "Call", frozen)]
pub struct Call {
    state: Mutex<State>,
    name: &'static str,
}

impl Call {
    pub fn new<F>(name: &'static str, fut: F) -> Call
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        Call { state: Mutex::new(State::NotStarted(Box::pin(fut))), name }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Aborts what runs for this call, if anything.
    fn abort(&self) {
        let previous = std::mem::replace(&mut *self.lock(), State::Finished);
        if let State::Waiting { port, key, .. } = previous {
            port.cancel(key);
        }
    }
}

impl Drop for Call {
    /// A coroutine dropped while its request runs (its task destroyed with a closed loop, say)
    /// takes the request with it.
    fn drop(&mut self) {
        if let State::Waiting { port, key, .. } = &*self.state.get_mut().unwrap_or_else(PoisonError::into_inner) {
            port.cancel(*key);
        }
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

    /// Starts the call on the first send and yields the loop's future; once that is done, ends
    /// with its result (as `StopIteration`).
    fn send(slf: &Bound<'_, Self>, _value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        let mut state = me.lock();
        match std::mem::replace(&mut *state, State::Finished) {
            State::NotStarted(fut) => {
                super::logging::refresh(py);
                let (event_loop, port) = Port::for_running_loop(py)?;
                let (future, key) = match Port::start_call(&port, &event_loop, fut)? {
                    Started::Done(outcome) => {
                        // Ended on the spot: the coroutine ends at its first send, as one that
                        // never had to wait does.
                        drop(state);
                        let value = outcome.map_err(|e| to_pyerr(py, e)).and_then(|convert| convert(py))?;
                        return Err(PyStopIteration::new_err((value,)));
                    }
                    Started::Later(future, key) => (future, key),
                };
                future.setattr(intern!(py, "_asyncio_future_blocking"), true)?;
                *state = State::Waiting { future: future.clone().unbind(), port: Arc::clone(&port.get().shared), key };
                Ok(future.unbind())
            }
            State::Waiting { future, port, key } => {
                let done = future.bind(py).call_method0(intern!(py, "done"))?.is_truthy()?;
                if !done {
                    // Sent to before its future is done: not how asyncio drives a coroutine.
                    *state = State::Waiting { future: future.clone_ref(py), port, key };
                    future.bind(py).setattr(intern!(py, "_asyncio_future_blocking"), true)?;
                    return Ok(future);
                }
                drop(state);
                let value = future.bind(py).call_method0(intern!(py, "result"))?;
                Err(PyStopIteration::new_err((value.unbind(),)))
            }
            State::Finished => Err(PyRuntimeError::new_err("cannot reuse already awaited coroutine")),
        }
    }

    /// Raises `exc` here: the task was cancelled (or the caller threw something in). What runs
    /// for the call is aborted, which closes its connection.
    #[pyo3(signature = (exc, value=None, traceback=None))]
    fn throw(
        &self,
        py: Python<'_>,
        exc: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        self.abort();
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
        Err(PyErr::from_value(instance))
    }

    /// Abandons the call; nothing more is sent, and what runs is aborted.
    fn close(&self) {
        self.abort();
    }

    /// The cycle coroutine -> future -> task -> coroutine is the garbage collector's to break.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Ok(state) = self.state.try_lock() {
            if let State::Waiting { future, .. } = &*state {
                visit.call(future)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.abort();
    }

    #[getter]
    fn __name__(&self) -> &'static str {
        self.name
    }

    #[getter]
    fn __qualname__(&self) -> String {
        format!("AsyncPresenceClient.{}", self.name)
    }

    fn __repr__(&self) -> String {
        format!("<coroutine AsyncPresenceClient.{}>", self.name)
    }
}

/// An awaitable that is already done (`close()`, `__aenter__`): a coroutine too, ending with
/// `value` on its first send.
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
        exc: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let _ = (value, traceback);
        self.close();
        let instance = if exc.is_instance_of::<PyType>() { exc.call0()? } else { exc.clone() };
        Err(PyErr::from_value(instance))
    }

    fn close(&self) {
        self.value.lock().unwrap_or_else(PoisonError::into_inner).take();
    }
}

/// `Call` and `Done` need no registration as `collections.abc.Coroutine`s: the ABC recognises any
/// class with `__await__`, `send`, `throw` and `close` (and importing `collections.abc` at start-up
/// would cost more than the rest of the module).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Call>()?;
    m.add_class::<Done>()?;
    m.add_class::<super::port::Port>()?;
    Ok(())
}
