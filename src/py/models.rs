//! The model classes as Python sees them: immutable, comparable, hashable, picklable, with
//! dataclass-style reprs. They wrap the core models; conversion happens only on attribute access.

use chrono::{DateTime, Utc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use super::args::{ChatIdArg, Text};

use crate::core::model::{self, ChatPresence, ParticipantPresence, PresenceState};

static STATE_MEMBERS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
static DATETIME_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The Python `PresenceState` member for a state (the enum is defined in Python).
pub fn state_object(py: Python<'_>, state: PresenceState) -> PyResult<Bound<'_, PyAny>> {
    let members = STATE_MEMBERS.get_or_try_init(py, || -> PyResult<Vec<Py<PyAny>>> {
        let enum_type = py.import("wawp_presence._state")?.getattr("PresenceState")?;
        PresenceState::ALL.iter().map(|s| enum_type.call1((s.as_str(),)).map(Bound::unbind)).collect()
    })?;
    Ok(members[state.index()].bind(py).clone())
}

/// A `PresenceState` or one of its string values (any case).
pub fn extract_state(obj: &Bound<'_, PyAny>) -> PyResult<PresenceState> {
    if !obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("a presence must be a PresenceState or a string"));
    }
    let word = obj.extract::<Text>()?.0;
    PresenceState::from_value(&word).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown presence state {word:?}: expected one of online, offline, typing, recording, paused, unknown"
        ))
    })
}

/// An aware `datetime` (any zone) as the same instant in UTC; `Ok(None)` when `obj` is not a
/// datetime at all, so callers decide what else they accept. A naive datetime is a ValueError
/// naming `what`.
pub fn extract_aware_datetime(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<DateTime<Utc>>> {
    let py = obj.py();
    if !obj.is_instance(DATETIME_TYPE.import(py, "datetime", "datetime")?)? {
        return Ok(None);
    }
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(PyValueError::new_err(format!(
            "{what} must be timezone-aware, e.g. datetime(..., tzinfo=timezone.utc)"
        )));
    }
    let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
    obj.call_method1("astimezone", (utc,))?.extract().map(Some)
}

/// `last_seen` from Python: an aware datetime, Unix seconds (or milliseconds), or None.
pub fn extract_last_seen(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DateTime<Utc>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Some(dt) = extract_aware_datetime(obj, "last_seen")? {
        return Ok(Some(dt));
    }
    if obj.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err("last_seen must be a datetime, Unix seconds or None, not a bool"));
    }
    let seconds: f64 =
        obj.extract().map_err(|_| PyTypeError::new_err("last_seen must be a datetime, Unix seconds or None"))?;
    model::unix_to_datetime(seconds).map(Some).ok_or_else(|| PyValueError::new_err("last_seen is out of range"))
}

#[pyclass(module = "wawp_presence", name = "ParticipantPresence", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyParticipantPresence(pub ParticipantPresence);

#[pymethods]
impl PyParticipantPresence {
    #[new]
    #[pyo3(signature = (participant, last_known_presence, last_seen=None, raw_presence=None))]
    fn new(
        participant: Text,
        last_known_presence: &Bound<'_, PyAny>,
        last_seen: Option<&Bound<'_, PyAny>>,
        raw_presence: Option<Text>,
    ) -> PyResult<Self> {
        let raw_presence = raw_presence.map(Text::into_inner);
        Ok(PyParticipantPresence(ParticipantPresence {
            participant: participant.0,
            state: extract_state(last_known_presence)?,
            last_seen: extract_last_seen(last_seen)?,
            raw_presence,
        }))
    }

    #[getter]
    fn participant(&self) -> &str {
        &self.0.participant
    }

    #[getter]
    fn last_known_presence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        state_object(py, self.0.state)
    }

    /// When the participant was last seen, as an aware UTC datetime; None when hidden or online.
    #[getter]
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen
    }

    /// The server's own word when it was none we know (the state is then UNKNOWN).
    #[getter]
    fn raw_presence(&self) -> Option<&str> {
        self.0.raw_presence.as_deref()
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("participant", "last_known_presence", "last_seen")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut s = format!(
            "ParticipantPresence(participant={}, last_known_presence={}, last_seen={}",
            PyString::new(py, &self.0.participant).repr()?,
            state_object(py, self.0.state)?.repr()?,
            self.0.last_seen.into_pyobject(py)?.repr()?,
        );
        if let Some(raw) = &self.0.raw_presence {
            s.push_str(&format!(", raw_presence={}", PyString::new(py, raw).repr()?));
        }
        s.push(')');
        Ok(s)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = &slf.get().0;
        let args = (me.participant.as_str(), state_object(py, me.state)?, me.last_seen, me.raw_presence.as_deref());
        Ok((slf.get_type(), args.into_pyobject(py)?))
    }

    /// The fields as plain Python values: the state as its string, datetimes as datetimes.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        participant_dict(py, &self.0)
    }
}

fn participant_dict<'py>(py: Python<'py>, p: &ParticipantPresence) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("participant", &p.participant)?;
    d.set_item("last_known_presence", p.state.as_str())?;
    d.set_item("last_seen", p.last_seen)?;
    d.set_item("raw_presence", p.raw_presence.as_deref())?;
    Ok(d)
}

#[pyclass(module = "wawp_presence", name = "ChatPresence", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyChatPresence(pub ChatPresence);

#[pymethods]
impl PyChatPresence {
    /// The notebook view: a small table, every value escaped.
    fn _repr_html_(&self) -> String {
        crate::core::html::chat_html(&self.0, Utc::now())
    }

    #[new]
    #[pyo3(signature = (id, presences=None))]
    fn new(id: Text, presences: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let id = id.0;
        let mut list = Vec::new();
        if let Some(items) = presences {
            for item in items.try_iter()? {
                let item = item?;
                let p = item
                    .cast::<PyParticipantPresence>()
                    .map_err(|_| PyTypeError::new_err("presences must hold ParticipantPresence objects"))?;
                list.push(p.get().0.clone());
            }
        }
        Ok(PyChatPresence(ChatPresence { id, presences: list }))
    }

    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    #[getter]
    fn presences<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.0.presences.iter().map(|p| PyParticipantPresence(p.clone())))
    }

    /// The chat is a group (`@g.us`).
    #[getter]
    fn is_group(&self) -> bool {
        self.0.is_group()
    }

    /// The server sent presence data; False means "no data yet", not "offline".
    #[getter]
    fn has_data(&self) -> bool {
        self.0.has_data()
    }

    /// Any participant is online, typing or recording.
    #[getter]
    fn is_online(&self) -> bool {
        self.0.is_online()
    }

    /// The latest `last_seen` among the participants.
    #[getter]
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.0.last_seen()
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str) {
        ("id", "presences")
    }

    pub(crate) fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let parts = self
            .0
            .presences
            .iter()
            .map(|p| PyParticipantPresence(p.clone()).__repr__(py))
            .collect::<PyResult<Vec<_>>>()?;
        let tuple = match parts.len() {
            1 => format!("({},)", parts[0]),
            _ => format!("({})", parts.join(", ")),
        };
        Ok(format!("ChatPresence(id={}, presences={tuple})", PyString::new(py, &self.0.id).repr()?))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let me = slf.get();
        Ok((slf.get_type(), (me.0.id.as_str(), me.presences(py)?).into_pyobject(py)?))
    }

    /// `{"id": ..., "presences": [participant dicts]}` with plain Python values.
    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("id", &self.0.id)?;
        let items = self.0.presences.iter().map(|p| participant_dict(py, p)).collect::<PyResult<Vec<_>>>()?;
        d.set_item("presences", PyList::new(py, items)?)?;
        Ok(d)
    }
}

/// The canonical form of a chat id (`"+44 7441 429009"` becomes `"447441429009@c.us"`), as every
/// method reads the ids it is given; an id of no accepted form raises `InvalidChatIdError`.
#[pyfunction]
fn normalize_chat_id(chat_id: ChatIdArg) -> String {
    chat_id.0.into()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyParticipantPresence>()?;
    m.add_class::<PyChatPresence>()?;
    m.add_function(wrap_pyfunction!(normalize_chat_id, m)?)?;
    Ok(())
}
