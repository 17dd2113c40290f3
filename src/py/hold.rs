//! `client.typing(chat_id)` and `client.keep_online()`: the context manager that holds a presence
//! ("typing..." in a chat, or online) while its block runs, refreshed from a background task, and
//! lets it go at the end even when the body raises.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use tokio::task::AbortHandle;

use super::aio::Call;
use super::args::seconds;
use super::errors::IntoPyResult;
use super::errors::{invalid_argument, to_pyerr};
use super::flavor::Flavor;
use super::outcome::{outcome_of, Convert, CoreFuture, Outcome, PyNone};
use super::runtime::{block_on, runtime};
use crate::core::client::{Client, Held};
use crate::core::error::{catch_panic, Error};
use crate::core::watch::MIN_INTERVAL;

/// What `typing()` and `keep_online()` return: the presence held on enter, let go on exit.
#[pyclass(module = "wawp_presence._native", frozen)]
pub struct PresenceBlock {
    client: Arc<Client>,
    held: Held,
    flavor: Flavor,
    /// How often the presence is re-sent while the block runs; None: sent once.
    refresh: Option<Duration>,
    /// The task re-sending it (see `Client::keep_holding`).
    refresher: Arc<Mutex<Option<AbortHandle>>>,
}

impl Drop for PresenceBlock {
    /// A block abandoned without its exit (a dropped generator, say) must not refresh forever.
    fn drop(&mut self) {
        stop_refresher(&self.refresher);
    }
}

/// The pace at which a block re-sends its presence: None (once, for `typing(refresh=None)`), or at
/// least the floor of every polling pace.
pub fn refresh_pace(name: &str, value: Option<f64>) -> PyResult<Option<Duration>> {
    let floor = MIN_INTERVAL.as_secs_f64();
    match value {
        None => Ok(None),
        Some(s) if s >= floor => seconds(name, s).map(Some),
        Some(s) => Err(invalid_argument(format!("{name} must be at least {floor} seconds, not {s}"))),
    }
}

/// Holds the presence, then keeps it from a background task until `stop_refresher`.
async fn hold_and_keep(
    client: Arc<Client>,
    held: Held,
    refresh: Option<Duration>,
    refresher: Arc<Mutex<Option<AbortHandle>>>,
) -> Result<(), Error> {
    client.hold(&held).await?;
    let Some(every) = refresh else { return Ok(()) };
    // Background work: it goes on between calls, driven by the runtime's driver thread.
    let io = runtime().map_err(|e| Error::new(crate::core::error::ErrorKind::Closed, e.to_string()))?;
    let task = io.spawn(async move { client.keep_holding(&held, every).await })?.abort_handle();
    if let Ok(mut slot) = refresher.lock() {
        if let Some(previous) = slot.replace(task) {
            previous.abort();
        }
    }
    Ok(())
}

fn stop_refresher(refresher: &Mutex<Option<AbortHandle>>) {
    if let Some(task) = refresher.lock().ok().and_then(|mut slot| slot.take()) {
        task.abort();
    }
}

impl PresenceBlock {
    pub fn new(client: Arc<Client>, held: Held, flavor: Flavor, refresh: Option<Duration>) -> PresenceBlock {
        PresenceBlock { client, held, flavor, refresh, refresher: Arc::default() }
    }

    fn start(&self) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        hold_and_keep(Arc::clone(&self.client), self.held.clone(), self.refresh, Arc::clone(&self.refresher))
    }

    /// Leaving the block, the one way for `with` and `async with`: the refresher stops, then
    /// the presence is let go. The exit answers `False` (the body's exception, if any, goes on);
    /// when clearing fails, that failure is raised, or, when the body raised, noted on the
    /// body's exception, so neither is lost. The note is made where results become Python.
    fn leave(&self, exc_value: Option<&Bound<'_, PyAny>>) -> impl Future<Output = Outcome> + Send + 'static {
        stop_refresher(&self.refresher);
        let (client, held) = (Arc::clone(&self.client), self.held.clone());
        let body_exc: Option<Py<PyAny>> = exc_value.filter(|e| !e.is_none()).map(|e| e.clone().unbind());
        async move {
            let convert: Convert = match (client.release(&held).await, body_exc) {
                (Ok(()), _) => Box::new(|py| false.into_py_any(py)),
                (Err(e), Some(body_exc)) => Box::new(move |py| {
                    note_failed_release(body_exc.bind(py), &held, e)?;
                    false.into_py_any(py)
                }),
                (Err(e), None) => return Err(e),
            };
            Ok(convert)
        }
    }

    fn check_flavor(&self, used: Flavor) -> PyResult<()> {
        let method = match self.held {
            Held::Typing(_) => "typing",
            Held::Online => "keep_online",
        };
        match (self.flavor, used) {
            (Flavor::Asyncio, Flavor::Blocking) => {
                Err(PyTypeError::new_err(format!("AsyncPresenceClient.{method}() is used with `async with`")))
            }
            (Flavor::Blocking, Flavor::Asyncio) => {
                Err(PyTypeError::new_err(format!("PresenceClient.{method}() is used with `with`")))
            }
            _ => Ok(()),
        }
    }
}

/// When the body raised and letting go failed too, the body's exception goes on and carries a
/// note about the failure, so neither is lost.
fn note_failed_release(body_exc: &Bound<'_, PyAny>, held: &Held, err: Error) -> PyResult<()> {
    let what = match held {
        Held::Typing(chat) => format!("stop typing in {chat}"),
        Held::Online => "set the session offline".to_owned(),
    };
    let note = format!("wawp_presence: could not {what}: {err}");
    if body_exc.hasattr("add_note")? {
        body_exc.call_method1("add_note", (note,))?;
    } else if let Ok(notes) = body_exc.getattr("__notes__") {
        // Python 3.10 has no add_note: the note goes where 3.11 keeps it (PEP 678).
        notes.call_method1("append", (note,))?;
    } else {
        body_exc.setattr("__notes__", vec![note])?;
    }
    Ok(())
}

#[pymethods]
impl PresenceBlock {
    /// The chat of a typing block; None for `keep_online()`.
    #[getter]
    fn chat_id(&self) -> Option<&str> {
        match &self.held {
            Held::Typing(chat) => Some(chat.as_str()),
            Held::Online => None,
        }
    }

    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<()> {
        let me = slf.get();
        me.check_flavor(Flavor::Blocking)?;
        block_on(slf.py(), catch_panic(me.start()))?.py_result(slf.py())
    }

    #[pyo3(signature = (_exc_type=None, exc_value=None, _traceback=None))]
    fn __exit__(
        slf: &Bound<'_, Self>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let me = slf.get();
        me.check_flavor(Flavor::Blocking)?;
        let leaving = catch_panic(me.leave(exc_value));
        block_on(py, leaving)?.map_err(|e| to_pyerr(py, e)).and_then(|convert| convert(py))
    }

    fn __aenter__(slf: &Bound<'_, Self>) -> PyResult<Call> {
        let me = slf.get();
        me.check_flavor(Flavor::Asyncio)?;
        let start = me.start();
        let entering = outcome_of(async move { start.await.map(|()| PyNone) });
        Ok(Call::with_locals("PresenceBlock.__aenter__", Box::new(move |_, _| entering)))
    }

    #[pyo3(signature = (_exc_type=None, exc_value=None, _traceback=None))]
    fn __aexit__(
        slf: &Bound<'_, Self>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Call> {
        let me = slf.get();
        me.check_flavor(Flavor::Asyncio)?;
        let leaving: CoreFuture = Box::pin(catch_panic(me.leave(exc_value)));
        Ok(Call::with_locals("PresenceBlock.__aexit__", Box::new(move |_, _| leaving)))
    }

    fn __repr__(&self) -> String {
        format!("<{}>", self.held)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PresenceBlock>()
}
