//! The two Python clients differ in one thing only: how a call is made.

use std::future::Future;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

use super::aio::Call;
use super::errors::IntoPyResult;
use super::outcome::outcome_of;
use super::runtime::block_on;
use crate::core::error::{catch_panic, Error};

/// Which Python client a value belongs to, and so how its calls are made: `PresenceClient`'s
/// block until done, `AsyncPresenceClient`'s return awaitables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Blocking,
    Asyncio,
}

impl Flavor {
    /// Runs a core future this flavor's way: blocking until it is done, or as a coroutine (named
    /// `qualname`, as Python names its own) that starts it when first awaited. A panic inside it
    /// is its error either way.
    pub fn run<'py, T, F>(self, py: Python<'py>, qualname: &'static str, fut: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
        T: for<'a> IntoPyObject<'a> + Send + 'static,
    {
        match self {
            Flavor::Asyncio => Call::new(qualname, outcome_of(fut)).into_bound_py_any(py),
            Flavor::Blocking => block_on(py, catch_panic(fut))?.py_result(py)?.into_bound_py_any(py),
        }
    }
}
