//! Arguments from Python as the core wants them: a wrong type is a `TypeError`, a value out of
//! range (however large the int) an `InvalidArgumentError` (a `ValueError` too), and a chat id of
//! no accepted form (lone surrogates included) an `InvalidChatIdError`. Nothing here lets
//! `OverflowError` or `UnicodeEncodeError` through, which would say how the binding is built
//! rather than what was wrong.

use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};

use super::errors::{invalid_argument, to_pyerr};
use crate::core::chat_id::ChatId;
use crate::core::error::{Error, ErrorKind};

/// A `str` argument. Python strings may hold lone surrogates (`"\ud800"`), which have no UTF-8
/// form: such text is an InvalidArgumentError rather than pyo3's UnicodeEncodeError.
pub struct Text(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let text = obj
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("expected a str, not {}", type_name(&obj))))?;
        text.to_cow().map(|t| Text(t.into_owned())).map_err(|_| {
            invalid_argument("the text holds a lone surrogate (such as '\\ud800'): it is not valid Unicode")
        })
    }
}

impl Text {
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A chat id argument, normalised (`"+44 7441 429009"` becomes `"447441429009@c.us"`); any form
/// `wire.md` does not accept is an `InvalidChatIdError`, raised at the call.
pub struct ChatIdArg(pub ChatId);

impl<'a, 'py> FromPyObject<'a, 'py> for ChatIdArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        chat_id_of(&obj)?.map(ChatIdArg).map_err(|e| to_pyerr(py, e))
    }
}

/// A str as a normalised chat id or the core's reason it is none; a TypeError for a non-str.
fn chat_id_of(obj: &Bound<'_, PyAny>) -> PyResult<Result<ChatId, Error>> {
    let text = obj
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("a chat id must be a str, not {}", type_name(obj))))?;
    Ok(match text.to_cow() {
        Ok(text) => ChatId::parse(&text),
        Err(_) => Err(Error::new(
            ErrorKind::InvalidChatId,
            "invalid chat id: it holds a lone surrogate (such as '\\ud800'), which is not valid Unicode",
        )),
    })
}

/// Every chat id of an iterable (not a lone string, which would iterate by character), each
/// normalised or the reason it is not a chat id; only a non-str item is raised here.
pub fn chat_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Result<ChatId, Error>>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err("chat_ids must be an iterable of chat ids, not a single string"));
    }
    obj.try_iter()?.map(|item| chat_id_of(&item?)).collect()
}

/// Like `chat_ids`, with the first id of no accepted form raised as its `InvalidChatIdError`.
pub fn valid_chat_ids(obj: &Bound<'_, PyAny>) -> PyResult<Vec<ChatId>> {
    let py = obj.py();
    chat_ids(obj)?.into_iter().map(|id| id.map_err(|e| to_pyerr(py, e))).collect()
}

/// Seconds from Python as a Duration: finite, not negative, and representable (a Duration
/// conversion of a huge float would panic).
pub fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| invalid_argument(format!("{name} must be a number of seconds >= 0, not {value:?}")))
}

/// An int argument in `lo..=hi`. An int too large for 64 bits is out of range like any other
/// (an InvalidArgumentError), never an OverflowError.
pub fn int_in(obj: &Bound<'_, PyAny>, name: &str, lo: i64, hi: i64) -> PyResult<i64> {
    let value = whole_number(obj, name)?;
    match value {
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(invalid_argument(format!("{name} must be between {lo} and {hi}, not {}", obj.str()?))),
    }
}

/// An int argument of at least 1 with no upper bound: a value past what 64 bits hold means "as
/// many as there can be", since it bounds nothing a smaller huge value would not.
pub fn at_least_one(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let positive = obj.gt(0).unwrap_or(false);
    match whole_number(obj, name)? {
        Some(v) if v >= 1 => Ok(usize::try_from(v).unwrap_or(usize::MAX)),
        None if positive => Ok(usize::MAX),
        _ => Err(invalid_argument(format!("{name} must be at least 1, not {}", obj.str()?))),
    }
}

/// `Some(value)`, or `None` for an int beyond 64 bits; a TypeError for anything but an int.
fn whole_number(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<i64>> {
    if !obj.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("{name} must be an int, not {}", type_name(obj))));
    }
    match obj.extract::<i64>() {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => Ok(None),
        Err(e) => Err(e),
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map_or_else(|_| "another type".to_owned(), |n| n.to_string())
}
