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
use pyo3_async_runtimes::TaskLocals;

use super::aio::{Call, PortShared, WithLocals};
use super::errors::{to_pyerr, IntoPyResult};
use super::flavor::Flavor;
use super::models::PyChatPresence;
use super::outcome::{outcome_of, CoreFuture, Outcome};
use super::runtime::block_on_ticking;
use crate::core::client::{Client, OnFailure};
use crate::core::error::{catch_panic, Error};
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
    match (flavor, reporter) {
        (Flavor::Blocking, None) => flavor.run(py, "AsyncPresenceClient.get_many", lookups),
        (Flavor::Blocking, Some(reporter)) => {
            let count = || done.load(Ordering::Relaxed);
            let outcome =
                block_on_ticking(py, catch_panic(lookups), |_| reporter.call_method1("update", (count(),)).map(drop));
            // The end is reported whatever it was, so a bar is closed even after Ctrl-C.
            let finished = reporter.call_method1("finish", (count(),));
            let results = outcome?.py_result(py)?;
            finished?;
            results.into_bound_py_any(py)
        }
        (Flavor::Asyncio, reporter) => {
            let reporter = reporter.map(Bound::unbind);
            let make: WithLocals = Box::new(move |locals, port| {
                let lookups = outcome_of(lookups);
                match reporter {
                    None => lookups,
                    Some(reporter) => Box::pin(reporting(lookups, Arc::new(Progress { reporter, locals, port, done }))),
                }
            });
            Call::with_locals("AsyncPresenceClient.get_many", make).into_bound_py_any(py)
        }
    }
}

/// How often the progress of an async `get_many` is looked at (the reporter tells at most ten
/// times a second).
const REPORT_EVERY: Duration = Duration::from_millis(50);

/// An async `get_many`'s progress report, told on its loop in the context of the task that
/// awaits it (its task locals, captured when the call started).
struct Progress {
    reporter: Py<PyAny>,
    locals: TaskLocals,
    port: Arc<PortShared>,
    done: Arc<AtomicUsize>,
}

impl Progress {
    /// Calls `reporter.<method>(done)` on the loop's thread, in the caller's context.
    fn tell(self: &Arc<Self>, method: &'static str) {
        let me = Arc::clone(self);
        self.port.run_on_loop(Box::new(move |py| {
            let tell = me.reporter.bind(py).getattr(method)?;
            me.locals.context(py).call_method1("run", (tell, me.done.load(Ordering::Relaxed)))?;
            Ok(())
        }));
    }
}

/// Told at the end however the lookups ended (done, failed or cancelled), so a bar is closed.
struct Finish(Arc<Progress>);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.tell("finish");
    }
}

/// Runs `lookups`, reporting their progress meanwhile.
async fn reporting(lookups: CoreFuture, progress: Arc<Progress>) -> Outcome {
    let finish = Finish(Arc::clone(&progress));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + REPORT_EVERY, REPORT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(lookups);
    loop {
        tokio::select! {
            outcome = &mut lookups => {
                drop(finish);
                return outcome;
            }
            _ = ticks.tick() => progress.tell("update"),
        }
    }
}
