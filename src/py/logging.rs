//! Forwards the core's `log` records to Python's `logging` (logger `wawp_presence`).
//!
//! Why not pyo3-log: it either caches levels (so `logger.setLevel(DEBUG)` after import goes
//! unseen) or asks Python on every check, which means taking the GIL from the I/O threads on
//! every request. Here the level is read from Python at the start of each client call, when the
//! GIL is held anyway, and kept in an atomic; the GIL is taken only to emit a record.

use std::sync::atomic::{AtomicUsize, Ordering};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

const TARGET: &str = "wawp_presence";

/// The most verbose level the Python logger accepts, as a `LevelFilter` number (0 = off).
static THRESHOLD: AtomicUsize = AtomicUsize::new(0);
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

struct PythonLogger;

impl Log for PythonLogger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        meta.target().starts_with(TARGET) && (meta.level() as usize) <= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = python_level(record.level());
        let message = record.args().to_string();
        // Records emitted while the interpreter shuts down are dropped, not a crash.
        let _ = super::runtime::with_python(|py| -> PyResult<()> {
            logger(py)?.call_method1("log", (level, message))?;
            Ok(())
        });
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
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug | Level::Trace => 10,
    }
}

/// Installs the bridge as the process's `log` logger (once; another logger already installed
/// by an embedding program is left alone).
pub fn install() {
    if log::set_logger(&PythonLogger).is_ok() {
        log::set_max_level(LevelFilter::Trace);
    }
}

/// Reads the Python logger's level (and `logging.disable`) into the threshold.
pub fn refresh(py: Python<'_>) {
    let filter = logger(py).ok().and_then(|l| {
        [(10, LevelFilter::Debug), (20, LevelFilter::Info), (30, LevelFilter::Warn), (40, LevelFilter::Error)]
            .into_iter()
            .find(|(n, _)| l.call_method1("isEnabledFor", (*n,)).and_then(|r| r.is_truthy()).unwrap_or(false))
            .map(|(_, f)| f)
    });
    THRESHOLD.store(filter.unwrap_or(LevelFilter::Off) as usize, Ordering::Relaxed);
}
