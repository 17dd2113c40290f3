//! `client.watch(chat_ids)`: an iterator (sync) or async iterator of `PresenceChange`, over the
//! core's `Watcher`, and the `PresenceChange` model.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple, PyType};

use super::aio::Call;
use super::args::Text;
use super::errors::IntoPyResult;
use super::flavor::Flavor;
use super::models::{extract_last_seen, extract_state, state_object};
use super::outcome::outcome_of;
use super::runtime::block_on;
use crate::core::error::catch_panic;
use crate::core::watch::{PresenceChange, Watcher};

#[pyclass(module = "wawp_presence", name = "PresenceChange", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyPresenceChange(pub PresenceChange);

#[pymethods]
impl PyPresenceChange {
    /// The notebook view: a small table, every value escaped.
    fn _repr_html_(&self) -> String {
        crate::core::html::change_html(&self.0, chrono::Utc::now())
    }

    #[new]
    #[pyo3(signature = (chat_id, participant, previous, current, last_seen, observed_at))]
    fn new(
        chat_id: Text,
        participant: Text,
        previous: Option<&Bound<'_, PyAny>>,
        current: &Bound<'_, PyAny>,
        last_seen: Option<&Bound<'_, PyAny>>,
        observed_at: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let observed_at = extract_last_seen(Some(observed_at))?
            .ok_or_else(|| PyValueError::new_err("observed_at must be a timezone-aware datetime"))?;
        Ok(PyPresenceChange(PresenceChange {
            chat_id: chat_id.0,
            participant: participant.0,
            previous: previous.filter(|p| !p.is_none()).map(extract_state).transpose()?,
            current: extract_state(current)?,
            last_seen: extract_last_seen(last_seen)?,
            observed_at,
        }))
    }

    #[getter]
    fn chat_id(&self) -> &str {
        &self.0.chat_id
    }

    #[getter]
    fn participant(&self) -> &str {
        &self.0.participant
    }

    /// The state before this change; None the first time the participant is seen.
    #[getter]
    fn previous<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.previous.map(|s| state_object(py, s)).transpose()
    }

    #[getter]
    fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        state_object(py, self.0.current)
    }

    #[getter]
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen
    }

    /// When the client saw the change (UTC).
    #[getter]
    fn observed_at(&self) -> DateTime<Utc> {
        self.0.observed_at
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str) {
        ("chat_id", "participant", "previous", "current", "last_seen", "observed_at")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = &self.0;
        Ok(format!(
            "PresenceChange(chat_id={}, participant={}, previous={}, current={}, last_seen={}, observed_at={})",
            PyString::new(py, &c.chat_id).repr()?,
            PyString::new(py, &c.participant).repr()?,
            self.previous(py)?.into_pyobject(py)?.repr()?,
            self.current(py)?.repr()?,
            c.last_seen.into_pyobject(py)?.repr()?,
            c.observed_at.into_pyobject(py)?.repr()?,
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        let c = &me.0;
        let args =
            (c.chat_id.as_str(), c.participant.as_str(), me.previous(py)?, me.current(py)?, c.last_seen, c.observed_at);
        Ok((slf.get_type(), args.into_pyobject(py)?))
    }

    /// The fields as plain Python values: states as their strings, datetimes as datetimes.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.0;
        let d = PyDict::new(py);
        d.set_item("chat_id", &c.chat_id)?;
        d.set_item("participant", &c.participant)?;
        d.set_item("previous", c.previous.map(|s| s.as_str()))?;
        d.set_item("current", c.current.as_str())?;
        d.set_item("last_seen", c.last_seen)?;
        d.set_item("observed_at", c.observed_at)?;
        Ok(d)
    }
}

/// What `client.watch(...)` returns: `for change in ...` on the sync client, `async for` on the
/// async one. It runs until the loop is left.
#[pyclass(module = "wawp_presence._native", frozen)]
pub struct Watch {
    watcher: Arc<tokio::sync::Mutex<Watcher>>,
    flavor: Flavor,
}

impl Watch {
    pub fn new(watcher: Watcher, flavor: Flavor) -> Self {
        Watch { watcher: Arc::new(tokio::sync::Mutex::new(watcher)), flavor }
    }

    fn next_change(
        &self,
    ) -> impl std::future::Future<Output = Result<PyPresenceChange, crate::core::error::Error>> + Send + 'static {
        let watcher = Arc::clone(&self.watcher);
        async move { watcher.lock().await.next().await.map(PyPresenceChange) }
    }
}

#[pymethods]
impl Watch {
    fn __iter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.get().flavor == Flavor::Asyncio {
            return Err(PyTypeError::new_err("AsyncPresenceClient.watch() is used with `async for`"));
        }
        Ok(slf)
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<PyPresenceChange> {
        block_on(py, catch_panic(self.next_change()))?.py_result(py)
    }

    fn __aiter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.get().flavor == Flavor::Blocking {
            return Err(PyTypeError::new_err("PresenceClient.watch() is used with `for`"));
        }
        Ok(slf)
    }

    /// A coroutine that waits for the next change; dropping or cancelling it stops the polling
    /// it started (the watcher itself can be asked again).
    fn __anext__(&self) -> Call {
        let next = outcome_of(self.next_change());
        Call::with_locals("Watch.__anext__", Box::new(move |_, _| next))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPresenceChange>()?;
    m.add_class::<Watch>()?;
    Ok(())
}
