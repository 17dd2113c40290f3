//! `client.typing(chat_id)`: the context manager that shows "typing..." while its block runs.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use tokio::task::AbortHandle;

use super::bridge::Call;
use super::errors::to_pyerr;
use super::errors::IntoPyResult;
use super::outcome::{outcome_of, Convert, Outcome, PyNone};
use super::runtime::{block_on, runtime};
use super::Flavor;
use crate::core::chat_id::ChatId;
use crate::core::client::Client;
use crate::core::error::Error;

/// `client.typing(chat_id)`: "typing..." on enter, cleared on exit, even when the body raises.
#[pyclass(module = "wawp_presence._native", frozen)]
pub struct Typing {
    client: Arc<Client>,
    chat_id: ChatId,
    flavor: Flavor,
    /// How often "typing" is re-sent while the block runs; None: sent once.
    refresh: Option<Duration>,
    /// The task re-sending it (see `Client::keep_typing`).
    refresher: Arc<Mutex<Option<AbortHandle>>>,
}

impl Drop for Typing {
    /// A block abandoned without its exit (a dropped generator, say) must not type forever.
    fn drop(&mut self) {
        stop_refresher(&self.refresher);
    }
}

/// Starts typing, then keeps it showing from a background task until `stop_refresher`.
async fn start_and_keep_typing(
    client: Arc<Client>,
    chat: ChatId,
    refresh: Option<Duration>,
    refresher: Arc<Mutex<Option<AbortHandle>>>,
) -> Result<(), Error> {
    client.start_typing(&chat).await?;
    let Some(every) = refresh else { return Ok(()) };
    // Background work: it goes on between calls, driven by the runtime's driver thread.
    let Ok(io) = runtime() else { return Ok(()) };
    let task = io.spawn(async move { client.keep_typing(&chat, every).await });
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

impl Typing {
    pub fn new(client: Arc<Client>, chat_id: ChatId, flavor: Flavor, refresh: Option<Duration>) -> Typing {
        Typing { client, chat_id, flavor, refresh, refresher: Arc::default() }
    }

    /// Leaving the block, the one way for `with` and `async with`: the refresher stops, then
    /// "typing" is cleared. The exit answers `False` (the body's exception, if any, goes on);
    /// when clearing fails, that failure is raised, or, when the body raised, noted on the
    /// body's exception, so neither is lost. The note is made where results become Python.
    fn leave(&self, exc_value: Option<&Bound<'_, PyAny>>) -> impl Future<Output = Outcome> + Send + 'static {
        stop_refresher(&self.refresher);
        let (client, chat) = (Arc::clone(&self.client), self.chat_id.clone());
        let body_exc: Option<Py<PyAny>> = exc_value.filter(|e| !e.is_none()).map(|e| e.clone().unbind());
        async move {
            let convert: Convert = match (client.stop_typing(&chat).await, body_exc) {
                (Ok(()), _) => Box::new(|py| false.into_py_any(py)),
                (Err(e), Some(body_exc)) => Box::new(move |py| {
                    note_failed_stop(py, body_exc.bind(py), chat.as_str(), e)?;
                    false.into_py_any(py)
                }),
                (Err(e), None) => return Err(e),
            };
            Ok(convert)
        }
    }

    fn check_flavor(&self, used: Flavor) -> PyResult<()> {
        match (self.flavor, used) {
            (Flavor::Asyncio, Flavor::Blocking) => {
                Err(PyTypeError::new_err("AsyncPresenceClient.typing() is used with `async with`"))
            }
            (Flavor::Blocking, Flavor::Asyncio) => {
                Err(PyTypeError::new_err("PresenceClient.typing() is used with `with`"))
            }
            _ => Ok(()),
        }
    }
}

/// When the body raised and stopping failed too, the body's exception goes on and carries a
/// note about the failed stop, so neither failure is lost.
fn note_failed_stop(py: Python<'_>, body_exc: &Bound<'_, PyAny>, chat_id: &str, err: Error) -> PyResult<()> {
    let note = format!("wawp_presence: could not stop typing in {chat_id}: {err}");
    if body_exc.hasattr("add_note")? {
        body_exc.call_method1("add_note", (note,))?;
    } else {
        py.import("warnings")?.call_method1("warn", (note, py.get_type::<pyo3::exceptions::PyRuntimeWarning>()))?;
    }
    Ok(())
}

#[pymethods]
impl Typing {
    #[getter]
    fn chat_id(&self) -> &str {
        self.chat_id.as_str()
    }

    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<()> {
        let me = slf.get();
        me.check_flavor(Flavor::Blocking)?;
        let (client, chat, refresher) = (Arc::clone(&me.client), me.chat_id.clone(), Arc::clone(&me.refresher));
        block_on(slf.py(), start_and_keep_typing(client, chat, me.refresh, refresher))?.py_result(slf.py())
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
        let leaving = me.leave(exc_value);
        block_on(py, leaving)?.map_err(|e| to_pyerr(py, e)).and_then(|convert| convert(py))
    }

    fn __aenter__(slf: &Bound<'_, Self>) -> PyResult<Call> {
        let me = slf.get();
        me.check_flavor(Flavor::Asyncio)?;
        let (client, chat, refresher) = (Arc::clone(&me.client), me.chat_id.clone(), Arc::clone(&me.refresher));
        let refresh = me.refresh;
        Ok(Call::new(
            "typing.__aenter__",
            outcome_of(async move { start_and_keep_typing(client, chat, refresh, refresher).await.map(|()| PyNone) }),
        ))
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
        Ok(Call::new("typing.__aexit__", me.leave(exc_value)))
    }

    fn __repr__(&self) -> String {
        format!("<typing in {}>", self.chat_id)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Typing>()
}
