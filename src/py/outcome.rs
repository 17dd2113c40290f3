//! What a call of the core ends with on its way to Python: an outcome, made into a Python value
//! only on a thread that holds the GIL.

use std::future::Future;
use std::pin::Pin;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use crate::core::error::{catch_panic, Error};

/// Makes the Python value of a result; runs on the loop thread, with the GIL.
pub type Convert = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;
/// What a core future ends with, before it becomes Python.
pub type Outcome = Result<Convert, Error>;
pub type CoreFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// A core future whose value converts to Python, as an outcome; a panic inside it becomes its
/// error (`Internal`), so its caller always gets an answer.
pub fn outcome_of<F, T>(fut: F) -> CoreFuture
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    Box::pin(async move {
        catch_panic(fut).await.map(|value| Box::new(move |py: Python<'_>| value.into_py_any(py)) as Convert)
    })
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
