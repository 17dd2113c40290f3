//! Arguments and answers of `FakeServer`'s methods as Python gives and reads them: response
//! bodies, `last_seen` values, presence scripts, and the request log's dicts.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString, PyTuple};

use crate::fake::{RecordedRequest, ScriptStep};
use crate::py::args::{seconds, Text};
use crate::py::models::extract_last_seen;

/// A body to serve: bytes as given, a str as UTF-8, anything else as JSON.
pub fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if body.is_instance_of::<PyString>() {
        return Ok(body.extract::<Text>()?.0.into_bytes());
    }
    let text: String = body.py().import("json")?.call_method1("dumps", (body,))?.extract()?;
    Ok(text.into_bytes())
}

/// `last_seen` as the fake serves it: Unix seconds as given (an int or a float, so tests can
/// send milliseconds or fractions), a datetime as its Unix seconds, None as null.
pub fn last_seen_number(last_seen: Option<&Bound<'_, PyAny>>) -> PyResult<Option<serde_json::Number>> {
    Ok(match last_seen.filter(|v| !v.is_none()) {
        None => None,
        Some(v) if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() => {
            Some(serde_json::Number::from(v.extract::<i64>()?))
        }
        Some(v) if v.is_instance_of::<PyFloat>() => serde_json::Number::from_f64(v.extract()?),
        Some(v) => extract_last_seen(Some(v))?.map(|dt| {
            let micros = dt.timestamp_micros();
            if micros % 1_000_000 == 0 {
                serde_json::Number::from(dt.timestamp())
            } else {
                serde_json::Number::from_f64(micros as f64 / 1e6).unwrap_or_else(|| dt.timestamp().into())
            }
        }),
    })
}

const STEP_FORM: &str = "(after_seconds, state) or (after_seconds, state, last_seen)";

/// A presence script: an iterable of `(after_seconds, state)` or `(after_seconds, state,
/// last_seen)` tuples. Each value is checked here; their time order is the fake's to check.
pub fn script_steps(steps: &Bound<'_, PyAny>) -> PyResult<Vec<ScriptStep>> {
    if steps.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("steps must be a list of {STEP_FORM} tuples, not a str")));
    }
    let mut parsed = Vec::new();
    for (index, item) in steps.try_iter()?.enumerate() {
        let item = item?;
        let Ok(step) = item.cast::<PyTuple>() else {
            return Err(PyTypeError::new_err(format!("step {index} must be a tuple {STEP_FORM}")));
        };
        let last_seen = match step.len() {
            2 => None,
            3 => Some(step.get_item(2)?),
            n => return Err(PyValueError::new_err(format!("step {index} has {n} items; expected {STEP_FORM}"))),
        };
        let after = step.get_item(0)?;
        if !(after.is_instance_of::<PyInt>() || after.is_instance_of::<PyFloat>()) || after.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!("step {index}: after_seconds must be a number of seconds")));
        }
        parsed.push(ScriptStep {
            after: seconds(&format!("step {index}: after_seconds"), after.extract()?)?,
            presence: step.get_item(1)?.extract::<Text>()?.0,
            last_seen: last_seen_number(last_seen.as_ref())?,
        });
    }
    Ok(parsed)
}

/// One logged request as a dict: method, path (raw), query, headers (lowercase names), body
/// (bytes), json (the parsed body, or None); `json` is Python's json module.
pub fn request_dict<'py>(json: &Bound<'py, PyModule>, request: RecordedRequest) -> PyResult<Bound<'py, PyDict>> {
    let py = json.py();
    let d = PyDict::new(py);
    d.set_item("method", request.method)?;
    d.set_item("path", request.path)?;
    let query = PyDict::new(py);
    for (k, v) in request.query {
        query.set_item(k, v)?;
    }
    d.set_item("query", query)?;
    let headers = PyDict::new(py);
    for (k, v) in request.headers {
        headers.set_item(k, v)?;
    }
    d.set_item("headers", headers)?;
    let parsed = if request.body.is_empty() {
        py.None().into_bound(py)
    } else {
        json.call_method1("loads", (PyBytes::new(py, &request.body),)).unwrap_or_else(|_| py.None().into_bound(py))
    };
    d.set_item("body", PyBytes::new(py, &request.body))?;
    d.set_item("json", parsed)?;
    Ok(d)
}
