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

/// One result, as found in the input.
enum Item<'py> {
    Chat(Bound<'py, PyChatPresence>),
    Change(Bound<'py, PyPresenceChange>),
    Event(Bound<'py, PyPresenceEvent>),
    Failure(Row<'static>),
}

fn items_of<'py>(input: &Bound<'py, PyAny>) -> PyResult<Vec<Item<'py>>> {
    let mut items = Vec::new();
    collect(input, &mut items, 0)?;
    Ok(items)
}

fn collect<'py>(obj: &Bound<'py, PyAny>, items: &mut Vec<Item<'py>>, depth: usize) -> PyResult<()> {
    if let Ok(chat) = obj.cast::<PyChatPresence>() {
        items.push(Item::Chat(chat.clone()));
    } else if let Ok(change) = obj.cast::<PyPresenceChange>() {
        items.push(Item::Change(change.clone()));
    } else if let Ok(event) = obj.cast::<PyPresenceEvent>() {
        items.push(Item::Event(event.clone()));
    } else if obj.is_instance_of::<PyBaseException>() {
        items.push(Item::Failure(exception_row(obj)?));
    } else if obj.is_instance_of::<PyString>()
        || obj.is_instance_of::<PyBytes>()
        || obj.is_instance_of::<PyByteArray>()
        || obj.is_instance_of::<PyDict>()
        || depth >= MAX_NESTING
    {
        return Err(not_a_result(obj));
    } else {
        let inner = obj.try_iter().map_err(|_| not_a_result(obj))?;
        for item in inner {
            collect(&item?, items, depth + 1)?;
        }
    }
    Ok(())
}

/// The rows of the items, borrowing their text.
fn rows_of<'a>(items: &'a [Item<'_>]) -> Vec<Row<'a>> {
    let mut rows = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Chat(chat) => chat_rows(&chat.get().0, None, &mut rows),
            Item::Change(change) => rows.push(change_row(&change.get().0)),
            Item::Event(event) => event_rows(&event.get().0, &mut rows),
            Item::Failure(row) => rows.push(row.clone()),
        }
    }
    rows
}

/// Python strings for the cells, each made once where the same text repeats: a chat's id on
/// every row of its participants, the state words on every row.
struct Cells<'py> {
    py: Python<'py>,
    last_chat: Option<(*const u8, usize, Bound<'py, PyString>)>,
    words: Vec<(&'static str, Bound<'py, PyString>)>,
}

impl<'py> Cells<'py> {
    fn new(py: Python<'py>) -> Self {
        Cells { py, last_chat: None, words: Vec::new() }
    }

    fn chat(&mut self, id: Option<&str>) -> Option<Bound<'py, PyString>> {
        let id = id?;
        let key = (id.as_ptr(), id.len());
        match &self.last_chat {
            Some((ptr, len, text)) if (*ptr, *len) == key => Some(text.clone()),
            _ => {
                let text = PyString::new(self.py, id);
                self.last_chat = Some((key.0, key.1, text.clone()));
                Some(text)
            }
        }
    }

    fn word(&mut self, word: Option<&'static str>) -> Option<Bound<'py, PyString>> {
        let word = word?;
        if let Some((_, text)) = self.words.iter().find(|(w, _)| std::ptr::eq(*w, word)) {
            return Some(text.clone());
        }
        let text = PyString::new(self.py, word);
        self.words.push((word, text.clone()));
        Some(text)
    }
}

fn not_a_result(obj: &Bound<'_, PyAny>) -> PyErr {
    let type_name = obj.get_type().name().map_or_else(|_| "?".to_owned(), |n| n.to_string());
    PyTypeError::new_err(format!(
        "expected ChatPresence, PresenceChange, PresenceEvent, an exception, or an iterable of them, not {type_name}"
    ))
}

/// A `WawpError` gives its message (`str()` would add the request); other exceptions their
/// `str()`. The chat is the error's `chat_id` when it has one.
fn exception_row(exc: &Bound<'_, PyAny>) -> PyResult<Row<'static>> {
    let class_name = exc.get_type().name()?.to_string();
    let text = |value: Option<Bound<'_, PyAny>>| value.and_then(|v| v.extract::<String>().ok());
    let message = text(exc.getattr("message").ok()).or_else(|| text(exc.str().ok().map(Bound::into_any)));
    let chat_id = text(exc.getattr("chat_id").ok());
    Ok(error_row(chat_id, &class_name, message.as_deref().unwrap_or("")))
}

/// `to_records`: a dict per row, the columns in order, datetimes aware in UTC.
#[pyfunction]
fn table_records<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let items = items_of(items)?;
    let rows = rows_of(&items);
    let keys = COLUMNS.map(|name| PyString::intern(py, name));
    let mut cells = Cells::new(py);
    let list = PyList::empty(py);
    for row in &rows {
        let d = PyDict::new(py);
        d.set_item(&keys[0], cells.chat(row.chat_id.as_deref()))?;
        d.set_item(&keys[1], row.participant)?;
        d.set_item(&keys[2], cells.word(row.state))?;
        d.set_item(&keys[3], row.last_seen)?;
        d.set_item(&keys[4], row.observed_at)?;
        d.set_item(&keys[5], cells.word(row.previous))?;
        d.set_item(&keys[6], row.error.as_deref())?;
        list.append(d)?;
    }
    Ok(list)
}

/// The seven columns as lists, in `COLUMNS` order; datetimes as Unix microseconds (or None), so
/// each library makes its UTC timestamp column from integers in one step.
#[pyfunction]
fn table_columns<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let items = items_of(items)?;
    let rows = rows_of(&items);
    let micros = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_micros());
    let mut cells = Cells::new(py);
    let chat_ids: Vec<_> = rows.iter().map(|r| cells.chat(r.chat_id.as_deref())).collect();
    let states: Vec<_> = rows.iter().map(|r| cells.word(r.state)).collect();
    let previous: Vec<_> = rows.iter().map(|r| cells.word(r.previous)).collect();
    let columns = [
        PyList::new(py, chat_ids)?,
        PyList::new(py, rows.iter().map(|r| r.participant))?,
        PyList::new(py, states)?,
        PyList::new(py, rows.iter().map(|r| micros(r.last_seen)))?,
        PyList::new(py, rows.iter().map(|r| micros(r.observed_at)))?,
        PyList::new(py, previous)?,
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
