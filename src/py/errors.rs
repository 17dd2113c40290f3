//! The one mapping from the core's `Error` to the Python exception hierarchy, whose classes are
//! plain Python (`wawp_presence._errors`) so users can subclass and pickle them.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

use crate::core::error::{Error, ErrorKind};

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Transport => "TransportError",
        ErrorKind::Timeout => "RequestTimeout",
        ErrorKind::Protocol => "ProtocolError",
        ErrorKind::Api => "APIError",
        ErrorKind::BadRequest => "BadRequestError",
        ErrorKind::Authentication => "AuthenticationError",
        ErrorKind::PermissionDenied => "PermissionDeniedError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::SessionNotReady => "SessionNotReadyError",
        ErrorKind::NotSupported => "NotSupportedError",
        ErrorKind::RateLimit => "RateLimitError",
        ErrorKind::Server => "ServerError",
        ErrorKind::InvalidChatId => "InvalidChatIdError",
        ErrorKind::Configuration => "ConfigurationError",
        ErrorKind::Closed => "ClientClosedError",
        ErrorKind::InvalidEvent => "InvalidEventError",
        ErrorKind::InvalidSignature => "InvalidSignatureError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::Internal => "InternalError",
    }
}

pub fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    build(py, class_name(err.kind), &err).unwrap_or_else(|_| PyRuntimeError::new_err(err.to_string()))
}

/// An argument refused before any request (`InvalidArgumentError`, a `ValueError` too).
pub fn invalid_argument(message: impl Into<String>) -> PyErr {
    let err = Error::invalid_argument(message);
    // Arguments are read with the GIL held: this only finds it.
    Python::attach(|py| to_pyerr(py, err))
}

fn build(py: Python<'_>, name: &str, err: &Error) -> PyResult<PyErr> {
    let module = ERRORS_MODULE.get_or_try_init(py, || py.import("wawp_presence._errors").map(Bound::unbind))?;
    let class = module.bind(py).getattr(name)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("status_code", err.status)?;
    kwargs.set_item("body", err.body.as_deref())?;
    kwargs.set_item("method", err.method.as_deref())?;
    kwargs.set_item("url", err.url.as_deref())?;
    kwargs.set_item("retry_after", err.retry_after)?;
    kwargs.set_item("attempts", err.attempts)?;
    kwargs.set_item("code", err.code.as_deref())?;
    kwargs.set_item("chat_id", err.chat_id.as_deref())?;
    if err.kind == ErrorKind::SessionNotReady {
        kwargs.set_item("session_status", err.session_status.as_deref())?;
    }
    let instance = class.call((err.message.as_str(),), Some(&kwargs))?;
    // `str(err)` is the core's one-line summary (message, status, request, attempts), worded once.
    instance.setattr("_summary", err.to_string())?;
    Ok(PyErr::from_value(instance))
}

/// Maps a core result into a Python one.
pub trait IntoPyResult<T> {
    fn py_result(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py_result(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}
