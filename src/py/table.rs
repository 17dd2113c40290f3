//! The rows behind `to_records`, `to_arrow`, `to_pandas` and `to_polars`: the Python results are
//! walked once into the core's rows (`core::table`), then laid out as records (dicts) or as seven
//! column lists, from which the DataFrame libraries build each column in one call.

use pyo3::exceptions::{PyBaseException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use super::models::PyChatPresence;
use super::watch::PyPresenceChange;
use super::webhook::PyPresenceEvent;
use crate::core::table::{change_row, chat_rows, error_row, event_rows, Row, COLUMNS};

/// Lists inside lists are read this deep; deeper is a mistake (or a list that holds itself).
const MAX_NESTING: usize = 16;

fn rows_of(items: &Bound<'_, PyAny>) -> PyResult<Vec<Row>> {
    let mut rows = Vec::new();
    collect(items, &mut rows, 0)?;
    Ok(rows)
}

fn collect(obj: &Bound<'_, PyAny>, rows: &mut Vec<Row>, depth: usize) -> PyResult<()> {
    if let Ok(chat) = obj.cast::<PyChatPresence>() {
        chat_rows(&chat.get().0, None, rows);
    } else if let Ok(change) = obj.cast::<PyPresenceChange>() {
        rows.push(change_row(&change.get().0));
    } else if let Ok(event) = obj.cast::<PyPresenceEvent>() {
        event_rows(&event.get().0, rows);
    } else if obj.is_instance_of::<PyBaseException>() {
        rows.push(exception_row(obj)?);
    } else if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyDict>()
        || depth >= MAX_NESTING
    {
        return Err(not_a_result(obj));
    } else {
        let items = obj.try_iter().map_err(|_| not_a_result(obj))?;
        for item in items {
            collect(&item?, rows, depth + 1)?;
        }
    }
    Ok(())
}

fn not_a_result(obj: &Bound<'_, PyAny>) -> PyErr {
    let type_name = obj.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!(
        "expected ChatPresence, PresenceChange, PresenceEvent, an exception, or an iterable of them, not {type_name}"
    ))
}

/// A `WawpError` gives its message (`str()` would add the request); other exceptions their
/// `str()`. The chat is the error's `chat_id` when it has one.
fn exception_row(exc: &Bound<'_, PyAny>) -> PyResult<Row> {
    let class_name = exc.get_type().name()?.to_string();
    let text = |value: Option<Bound<'_, PyAny>>| value.and_then(|v| v.extract::<String>().ok());
    let message = text(exc.getattr("message").ok()).or_else(|| text(exc.str().ok().map(Bound::into_any)));
    let chat_id = text(exc.getattr("chat_id").ok());
    Ok(error_row(chat_id, &class_name, message.as_deref().unwrap_or("")))
}

/// `to_records`: a dict per row, the columns in order, datetimes aware in UTC.
#[pyfunction]
fn table_records<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let rows = rows_of(items)?;
    let dicts = rows
        .into_iter()
        .map(|row| {
            let d = PyDict::new(py);
            d.set_item(COLUMNS[0], row.chat_id)?;
            d.set_item(COLUMNS[1], row.participant)?;
            d.set_item(COLUMNS[2], row.state)?;
            d.set_item(COLUMNS[3], row.last_seen)?;
            d.set_item(COLUMNS[4], row.observed_at)?;
            d.set_item(COLUMNS[5], row.previous)?;
            d.set_item(COLUMNS[6], row.error)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, dicts)
}

/// The seven columns as lists, in `COLUMNS` order; datetimes as Unix microseconds (or None), so
/// each library makes its UTC timestamp column from integers in one step.
#[pyfunction]
fn table_columns<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let rows = rows_of(items)?;
    let micros = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
    let columns = [
        PyList::new(py, rows.iter().map(|r| r.chat_id.as_deref()))?,
        PyList::new(py, rows.iter().map(|r| r.participant.as_deref()))?,
        PyList::new(py, rows.iter().map(|r| r.state))?,
        PyList::new(py, rows.iter().map(|r| micros(r.last_seen)))?,
        PyList::new(py, rows.iter().map(|r| micros(r.observed_at)))?,
        PyList::new(py, rows.iter().map(|r| r.previous))?,
        PyList::new(py, rows.iter().map(|r| r.error.as_deref()))?,
    ];
    PyTuple::new(py, columns)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(table_records, m)?)?;
    m.add_function(wrap_pyfunction!(table_columns, m)?)?;
    m.add("TABLE_COLUMNS", COLUMNS.to_vec())?;
    Ok(())
}
