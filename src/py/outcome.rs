//! What a call of the core ends with on its way to Python: an outcome, made into a Python value
//! only on a thread that holds the GIL.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::core::error::Error;

/// Makes the Python value of a result; runs on the loop thread, with the GIL.
pub type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
/// What a core future ends with, before it becomes Python.
pub type Outcome = Result<Convert, Error>;
pub type CoreFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Wraps a core future whose value converts to Python.
pub async fn outcome_of<F, T>(fut: F) -> Outcome
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    fut.await.map(|value| Box::new(move |py: Python<'_>| value.into_py_any(py)) as Convert)
}

/// A call by its key, so that what comes back can find its future.
pub struct Keyed {
    pub key: u64,
    pub fut: CoreFuture,
}

impl Future for Keyed {
    type Output = (u64, Outcome);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let key = self.key;
        self.fut.as_mut().poll(cx).map(|outcome| (key, outcome))
    }
}

/// `None` in Python: what operations that answer nothing give back (Rust's `()` would become an
/// empty tuple).
pub struct PyNone;

impl<'py> IntoPyObject<'py> for PyNone {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(py.None().into_bound(py))
    }
}
