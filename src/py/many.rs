//! `get_many`: the arguments, the results in input order (each a chat or, with
//! `return_exceptions`, its exception), and the progress report. When to report is decided in
//! `wawp_presence._progress`; the count comes from the core, one per finished lookup.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::IntoPyObjectExt;

use super::args::{at_least_one, chat_ids, seconds, valid_chat_ids};
use super::bridge::Call;
use super::errors::{to_pyerr, IntoPyResult};
use super::flavor::Flavor;
use super::models::PyChatPresence;
use super::outcome::outcome_of;
use super::runtime::block_on_ticking;
use crate::core::client::{Client, OnFailure};
use crate::core::error::Error;
use crate::core::model::ChatPresence;

/// `get_many`'s default number of lookups in flight.
const DEFAULT_CONCURRENCY: usize = 8;

/// What `get_many` returns: each place a chat or (with `return_exceptions`) its exception.
struct ManyResults(Vec<Result<ChatPresence, Error>>);

impl<'py> IntoPyObject<'py> for ManyResults {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .0
            .into_iter()
            .map(|r| match r {
                Ok(chat) => PyChatPresence(chat).into_bound_py_any(py),
                Err(e) => Ok(to_pyerr(py, e).into_value(py).into_bound(py).into_any()),
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

/// How many lookups of one `get_many` have finished.
#[pyclass(module = "wawp_presence._native", frozen)]
pub struct LookupCount(Arc<AtomicUsize>);

#[pymethods]
impl LookupCount {
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct ManyArgs<'a, 'py> {
    pub chat_ids: &'a Bound<'py, PyAny>,
    pub concurrency: Option<&'a Bound<'py, PyAny>>,
    pub return_exceptions: bool,
    pub wait: f64,
    pub progress: Option<&'a Bound<'py, PyAny>>,
}

pub fn get_many<'py>(
    py: Python<'py>,
    client: Arc<Client>,
    flavor: Flavor,
    args: ManyArgs<'_, 'py>,
) -> PyResult<Bound<'py, PyAny>> {
    let ids = if args.return_exceptions {
        chat_ids(args.chat_ids)?
    } else {
        valid_chat_ids(args.chat_ids)?.into_iter().map(Ok).collect()
    };
    let total = ids.len();
    let wait: Duration = seconds("wait", args.wait)?;
    let concurrency =
        args.concurrency.map(|c| at_least_one(c, "concurrency")).transpose()?.unwrap_or(DEFAULT_CONCURRENCY);
    let on_failure = if args.return_exceptions { OnFailure::Collect } else { OnFailure::Stop };
    let reporter = match args.progress {
        Some(progress) => Some(py.import("wawp_presence._progress")?.call_method1("reporter", (progress, total))?)
            .filter(|r| !r.is_none()),
        None => None,
    };
    let done = Arc::new(AtomicUsize::new(0));
    let counting = reporter.as_ref().map(|_| Arc::clone(&done));
    let lookups = async move { client.get_many(ids, concurrency, wait, on_failure, counting).await.map(ManyResults) };
    let Some(reporter) = reporter else {
        return flavor.run(py, "get_many", lookups);
    };
    match flavor {
        Flavor::Blocking => {
            let count = || done.load(Ordering::Relaxed);
            let outcome = block_on_ticking(py, lookups, |_| reporter.call_method1("update", (count(),)).map(drop));
            // The end is reported whatever it was, so a bar is closed even after Ctrl-C.
            let finished = reporter.call_method1("finish", (count(),));
            let results = outcome?.py_result(py)?;
            finished?;
            results.into_bound_py_any(py)
        }
        Flavor::Asyncio => {
            let call = Call::new("get_many", outcome_of(lookups));
            let progress = py.import("wawp_presence._progress")?;
            let count = Bound::new(py, LookupCount(done))?.getattr("get")?;
            progress.call_method1("follow", (call, count, reporter))
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<LookupCount>()
}
