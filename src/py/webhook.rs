//! The webhook helpers as Python sees them: `parse_event`, `verify_signature` and the
//! `PresenceEvent` model. Argument checking and conversion only; the work is in core::webhook.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyInt, PyMemoryView, PyString, PyTuple, PyType};

use super::args::Text;
use super::errors::{to_pyerr, IntoPyResult};
use super::models::{extract_aware_datetime, PyChatPresence};
use crate::core::error::{Error, ErrorKind};
use crate::core::webhook::{self, Algorithm, PresenceEvent};

static TIMEDELTA_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The body's bytes exactly as given, or `None` for a dict (which has no raw bytes to sign).
fn raw_body<'a>(body: &'a Bound<'_, PyAny>) -> PyResult<Option<Cow<'a, [u8]>>> {
    if let Ok(bytes) = body.cast::<PyBytes>() {
        return Ok(Some(Cow::Borrowed(bytes.as_bytes())));
    }
    if let Ok(array) = body.cast::<PyByteArray>() {
        return Ok(Some(Cow::Owned(array.to_vec())));
    }
    if body.cast::<PyMemoryView>().is_ok() {
        let copy = body.call_method0("tobytes")?;
        return Ok(Some(Cow::Owned(copy.cast::<PyBytes>()?.as_bytes().to_vec())));
    }
    if let Ok(text) = body.cast::<PyString>() {
        // Text with unpaired surrogates has no UTF-8 form: it cannot be what a server sent.
        let text = text.to_cow().map_err(|_| {
            to_pyerr(body.py(), Error::new(ErrorKind::InvalidEvent, "the webhook body is not valid Unicode text"))
        })?;
        return Ok(Some(Cow::Owned(text.into_owned().into_bytes())));
    }
    if body.is_instance_of::<PyDict>() {
        return Ok(None);
    }
    Err(PyTypeError::new_err(format!("body must be bytes, str or dict, not {}", body.get_type().name()?)))
}

/// `secret` as bytes: text is UTF-8. Messages never quote the value.
fn secret_bytes<'a>(secret: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(text) = secret.cast::<PyString>() {
        let text = text.to_cow().map_err(|_| PyValueError::new_err("secret is not valid Unicode text"))?;
        return Ok(Cow::Owned(text.into_owned().into_bytes()));
    }
    if let Ok(bytes) = secret.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(bytes.as_bytes()));
    }
    if let Ok(array) = secret.cast::<PyByteArray>() {
        return Ok(Cow::Owned(array.to_vec()));
    }
    Err(PyTypeError::new_err(format!("secret must be str or bytes, not {}", secret.get_type().name()?)))
}

/// A header name or value: frameworks give str, raw ASGI gives bytes (Latin-1 by HTTP's rules).
fn header_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = obj.cast::<PyString>() {
        return Ok(text.to_string_lossy().into_owned());
    }
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().iter().map(|&b| char::from(b)).collect());
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(obj.str()?.to_string_lossy().into_owned());
    }
    Err(PyTypeError::new_err(format!("header names and values must be str or bytes, not {}", obj.get_type().name()?)))
}

/// Any mapping's `.items()` (dict, Flask/Django/Starlette headers), or an iterable of
/// `(name, value)` pairs such as an ASGI scope's `headers`.
fn header_pairs(headers: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(headers) = headers.filter(|h| !h.is_none()) else {
        return Ok(Vec::new());
    };
    let not_headers =
        || PyTypeError::new_err("headers must be a mapping (e.g. request.headers) or (name, value) pairs");
    let items = if headers.hasattr("items")? { headers.call_method0("items")? } else { headers.clone() };
    let mut pairs = Vec::new();
    for item in items.try_iter().map_err(|_| not_headers())? {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract().map_err(|_| not_headers())?;
        pairs.push((header_text(&name)?, header_text(&value)?));
    }
    Ok(pairs)
}

/// `max_age` in seconds (int or float) or a `timedelta`; finite and not negative.
fn max_age_duration(max_age: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(max_age) = max_age.filter(|m| !m.is_none()) else {
        return Ok(None);
    };
    let bad = || PyValueError::new_err("max_age must be a finite, non-negative number of seconds");
    if max_age.is_instance(TIMEDELTA_TYPE.import(max_age.py(), "datetime", "timedelta")?)? {
        let delta: TimeDelta = max_age.extract()?;
        return delta.to_std().map(Some).map_err(|_| bad());
    }
    if max_age.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("max_age must be seconds or a timedelta, not a bool"));
    }
    let seconds: f64 =
        max_age.extract().map_err(|_| PyTypeError::new_err("max_age must be seconds (a number) or a timedelta"))?;
    Duration::try_from_secs_f64(seconds).map(Some).map_err(|_| bad())
}

/// Parses a `presence.update` delivery, first checking its signature and age when asked to.
#[pyfunction]
#[pyo3(signature = (body, *, headers=None, secret=None, max_age=None))]
fn parse_event(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    secret: Option<&Bound<'_, PyAny>>,
    max_age: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyPresenceEvent> {
    let secret = secret.filter(|s| !s.is_none()).map(secret_bytes).transpose()?;
    let max_age = max_age_duration(max_age)?;
    let headers = header_pairs(headers)?;
    let bytes = match raw_body(body)? {
        Some(bytes) => bytes,
        // The signature covers the bytes as sent; a parsed dict no longer has them, and
        // re-encoding it gives other bytes (spacing, key order, escapes).
        None if secret.is_some() => {
            return Err(PyTypeError::new_err(
                "a signature is checked over the raw body as received: pass the request's bytes \
                 (e.g. request.get_data() or await request.body()), not a parsed dict",
            ));
        }
        None => {
            let text = py.import("json")?.call_method1("dumps", (body,))?;
            Cow::Owned(text.cast::<PyString>()?.to_cow()?.into_owned().into_bytes())
        }
    };
    webhook::check_delivery(&bytes, &headers, secret.as_deref(), max_age, Utc::now()).py_result(py)?;
    webhook::parse_event(&bytes).map(PyPresenceEvent).py_result(py)
}

/// Whether `signature` is the hex HMAC of `body` under `secret`, compared in constant time.
#[pyfunction]
#[pyo3(signature = (body, signature, secret, algorithm=Text("sha512".to_owned())))]
fn verify_signature(
    py: Python<'_>,
    body: &Bound<'_, PyAny>,
    signature: Option<&Bound<'_, PyAny>>,
    secret: &Bound<'_, PyAny>,
    algorithm: Text,
) -> PyResult<bool> {
    let bytes = raw_body(body)?.ok_or_else(|| {
        PyTypeError::new_err("a signature is checked over the raw body as received: pass bytes or str, not a dict")
    })?;
    let secret = secret_bytes(secret)?;
    webhook::check_secret(&secret).py_result(py)?;
    let algorithm: Algorithm = algorithm.0.parse().py_result(py)?;
    // A missing header (`headers.get(...)` gave None) is simply not a valid signature.
    let signature = match signature.filter(|s| !s.is_none()) {
        None => return Ok(false),
        Some(s) => match s.cast::<PyString>() {
            Ok(text) => text.to_string_lossy().into_owned(),
            Err(_) => match s.cast::<PyBytes>() {
                Ok(bytes) => String::from_utf8_lossy(bytes.as_bytes()).into_owned(),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "signature must be str, bytes or None, not {}",
                        s.get_type().name()?
                    )));
                }
            },
        },
    };
    Ok(webhook::verify_signature(&bytes, &signature, &secret, algorithm))
}

/// An aware datetime (any zone, kept as the same instant in UTC) or None.
fn extract_timestamp(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<DateTime<Utc>>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    extract_aware_datetime(obj, "timestamp")?
        .map(Some)
        .ok_or_else(|| PyTypeError::new_err("timestamp must be a timezone-aware datetime or None"))
}

#[pyclass(module = "wawp_presence", name = "PresenceEvent", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyPresenceEvent(pub PresenceEvent);

#[pymethods]
impl PyPresenceEvent {
    /// The notebook view: a small table, every value escaped.
    fn _repr_html_(&self) -> String {
        crate::core::html::event_html(&self.0, chrono::Utc::now())
    }

    #[new]
    #[pyo3(signature = (id, timestamp, session, engine, chat))]
    fn new(
        id: Option<Text>,
        timestamp: Option<&Bound<'_, PyAny>>,
        session: Option<Text>,
        engine: Option<Text>,
        chat: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let chat = chat.cast::<PyChatPresence>().map_err(|_| PyTypeError::new_err("chat must be a ChatPresence"))?;
        Ok(PyPresenceEvent(PresenceEvent {
            id: id.map(Text::into_inner),
            timestamp: extract_timestamp(timestamp)?,
            session: session.map(Text::into_inner),
            engine: engine.map(Text::into_inner),
            chat: chat.get().0.clone(),
        }))
    }

    /// The sender's event id; a retried delivery repeats it, so it is the key to drop duplicates.
    #[getter]
    fn id(&self) -> Option<&str> {
        self.0.id.as_deref()
    }

    /// When the sender created the event, as an aware UTC datetime.
    #[getter]
    fn timestamp(&self) -> Option<DateTime<Utc>> {
        self.0.timestamp
    }

    #[getter]
    fn session(&self) -> Option<&str> {
        self.0.session.as_deref()
    }

    #[getter]
    fn engine(&self) -> Option<&str> {
        self.0.engine.as_deref()
    }

    #[getter]
    fn chat(&self) -> PyChatPresence {
        PyChatPresence(self.0.chat.clone())
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        ("id", "timestamp", "session", "engine", "chat")
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let e = &self.0;
        Ok(format!(
            "PresenceEvent(id={}, timestamp={}, session={}, engine={}, chat={})",
            e.id.as_deref().into_pyobject(py)?.repr()?,
            e.timestamp.into_pyobject(py)?.repr()?,
            e.session.as_deref().into_pyobject(py)?.repr()?,
            e.engine.as_deref().into_pyobject(py)?.repr()?,
            PyChatPresence(e.chat.clone()).__repr__(py)?,
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let e = &slf.get().0;
        let args =
            (e.id.as_deref(), e.timestamp, e.session.as_deref(), e.engine.as_deref(), PyChatPresence(e.chat.clone()));
        Ok((slf.get_type(), args.into_pyobject(py)?))
    }

    /// The fields as plain Python values; `chat` as `ChatPresence.to_dict()` gives it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = &self.0;
        let d = PyDict::new(py);
        d.set_item("id", e.id.as_deref())?;
        d.set_item("timestamp", e.timestamp)?;
        d.set_item("session", e.session.as_deref())?;
        d.set_item("engine", e.engine.as_deref())?;
        d.set_item("chat", PyChatPresence(e.chat.clone()).to_dict(py)?)?;
        Ok(d)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPresenceEvent>()?;
    m.add_function(wrap_pyfunction!(parse_event, m)?)?;
    m.add_function(wrap_pyfunction!(verify_signature, m)?)?;
    Ok(())
}
