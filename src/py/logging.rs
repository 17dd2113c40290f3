//! Forwards the core's `log` records to Python's `logging` (logger `wawp_presence`).
//!
//! Records are made on the I/O threads, which never take the GIL (a Python thread holding it
//! for seconds would stall every request in flight). They wait in a bounded queue until a Python
//! thread empties it: a blocking call when it returns, the asyncio bridge when it delivers
//! results. Whether DEBUG and INFO are on is read once per call, when the GIL is held anyway
//! (from the logger's own cache when it has the answer), and kept in an atomic for the I/O
//! threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

const TARGET: &str = "wawp_presence";
/// Records kept while no Python thread empties the queue; beyond it the oldest are dropped and
/// counted, so a flood cannot grow memory.
const QUEUE_BOUND: usize = 10_000;
const PY_DEBUG: u8 = 10;
const PY_INFO: u8 = 20;
const PY_WARNING: u8 = 30;

/// The lowest Python level the logger takes below WARNING (DEBUG or INFO), else WARNING.
static LOWEST: AtomicU8 = AtomicU8::new(PY_WARNING);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
/// Set while the queue holds anything, so emptying an empty queue takes no lock.
static PENDING: AtomicBool = AtomicBool::new(false);
static QUEUE: Mutex<VecDeque<(u8, String)>> = Mutex::new(VecDeque::new());
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CACHE: PyOnceLock<Option<Py<PyDict>>> = PyOnceLock::new();

struct PythonLogger;

impl Log for PythonLogger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        // DEBUG and INFO only when Python's logger wants them; WARNING and above always (Python
        // filters them).
        meta.target().starts_with(TARGET) && python_level(meta.level()) >= LOWEST.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let entry = (python_level(record.level()), record.args().to_string());
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() >= QUEUE_BOUND {
            queue.pop_front();
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(entry);
        PENDING.store(true, Ordering::Release);
    }

    fn flush(&self) {}
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || py.import("logging")?.call_method1("getLogger", (TARGET,)).map(Bound::unbind))
        .map(|l| l.bind(py))
}

fn python_level(level: Level) -> u8 {
    match level {
        Level::Error => 40,
        Level::Warn => PY_WARNING,
        Level::Info => PY_INFO,
        Level::Debug | Level::Trace => PY_DEBUG,
    }
}

/// Installs the bridge as the process's `log` logger (once; another logger already installed
/// by an embedding program is left alone).
pub fn install() {
    if log::set_logger(&PythonLogger).is_ok() {
        log::set_max_level(LevelFilter::Trace);
    }
}

/// Reads whether the Python logger takes DEBUG and INFO records, once per call.
/// `Logger.isEnabledFor` keeps its answers in the logger's `_cache` dict, which `setLevel`,
/// `disable` and the like clear in place: a hit there is the answer without calling into Python.
/// A logger of another class (`logging.setLoggerClass`) is always asked.
pub fn refresh(py: Python<'_>) {
    let lowest = [PY_DEBUG, PY_INFO].into_iter().find(|&level| enabled_for(py, level)).unwrap_or(PY_WARNING);
    LOWEST.store(lowest, Ordering::Relaxed);
}

fn enabled_for(py: Python<'_>, level: u8) -> bool {
    let cached = CACHE.get_or_init(py, || cache_of(py)).as_ref().and_then(|cache| {
        cache.bind(py).get_item(level).ok().flatten().map(|answer| answer.is_truthy().unwrap_or(false))
    });
    cached.unwrap_or_else(|| {
        logger(py)
            .and_then(|l| l.call_method1(pyo3::intern!(py, "isEnabledFor"), (level,)))
            .and_then(|r| r.is_truthy())
            .unwrap_or(false)
    })
}

/// The logger's answer cache, if it is a plain `logging.Logger` with one.
fn cache_of(py: Python<'_>) -> Option<Py<PyDict>> {
    let logger = logger(py).ok()?;
    let standard = py.import("logging").ok()?.getattr("Logger").ok()?;
    let own = logger.get_type().getattr("isEnabledFor").ok()?;
    if !own.is(&standard.getattr("isEnabledFor").ok()?) {
        return None;
    }
    logger.getattr("_cache").ok()?.cast_into::<PyDict>().ok().map(Bound::unbind)
}

/// Hands every queued record to Python's logger, in order. A logging error is Python's to
/// report (its handlers print it); it never fails the call that got here.
pub fn emit_pending(py: Python<'_>) {
    if !PENDING.swap(false, Ordering::Acquire) {
        return;
    }
    let records: Vec<(u8, String)> = QUEUE.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
    let Ok(logger) = logger(py) else { return };
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let note = format!("{dropped} log records were dropped while no Python thread took them");
        let _ = logger.call_method1(pyo3::intern!(py, "log"), (30u8, note));
    }
    for (level, message) in records {
        let _ = logger.call_method1(pyo3::intern!(py, "log"), (level, message));
    }
}
