//! An event loop's port: where its calls start and where their results come back.
//!
//! A call sent to for the first time runs at once when nothing else is due on the loop (a lone
//! `await`; see `start_call`). Otherwise it is queued here, and the first call of a round asks the
//! loop (`call_soon`) to start them all once every task that was ready has had its turn, so a
//! `gather` starts as one batch. A small batch is driven right there on the loop's thread, for
//! at most `INLINE_BUDGET`: against a fast server it ends without any hand-over between threads.
//! What is left, or a large batch, runs on the I/O runtime; its results come back through a queue
//! and a socket the loop watches (`add_reader`), written to once per batch, never with the GIL.
//! Batches that needed the hand-over several times in a row turn the inline attempt off for a
//! while, so a slow server costs the loop at most one budget a second.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use pyo3::exceptions::PyRuntimeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::task::AbortHandle;

use super::errors::to_pyerr;
use super::outcome::{CoreFuture, Keyed, Outcome};
use super::runtime::{runtime, IoRuntime};

/// Longest a batch is driven on the loop's own thread before the rest is handed over: a
/// millisecond, and 50 µs more for each further call in it, at most 5 ms.
const INLINE_BUDGET: Duration = Duration::from_millis(1);
const INLINE_BUDGET_PER_CALL: Duration = Duration::from_micros(50);
const INLINE_BUDGET_MAX: Duration = Duration::from_millis(5);
/// Batches larger than this go to the I/O runtime at once.
const INLINE_MAX_CALLS: usize = 256;
/// How long inline attempts stay off once `INLINE_MISSES` in a row ran out of budget. One miss
/// is not enough: on a busy machine a fast server's answer is sometimes late.
const INLINE_BACKOFF: Duration = Duration::from_secs(1);
const INLINE_MISSES: u32 = 3;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call waiting for its result: a weak reference to its asyncio future, and its task once it
/// runs on the I/O runtime.
struct Waiter {
    /// `None` only while a lone call runs inline (it may need no future at all).
    future: Option<Py<PyAny>>,
    task: Option<AbortHandle>,
}

pub struct PortShared {
    /// Results from the I/O runtime, waiting for the loop.
    finished: Mutex<Vec<(u64, Outcome)>>,
    /// Set when a byte is on its way to the loop; cleared by the loop before it takes `finished`.
    signalled: AtomicBool,
    writer: UnixStream,
    /// Calls not started yet, and every call still waiting; used on the loop's thread only.
    unstarted: Mutex<Vec<Keyed>>,
    waiting: Mutex<HashMap<u64, Waiter>>,
    next_key: AtomicU64,
    /// No inline attempt before this.
    inline_after: Mutex<Option<Instant>>,
    /// Inline attempts in a row that ran out of budget.
    inline_misses: std::sync::atomic::AtomicU32,
}

impl PortShared {
    /// Abandons a call: not started, it is dropped; running, its task is aborted (which closes
    /// its connection).
    pub fn cancel(&self, key: u64) {
        lock(&self.unstarted).retain(|k| k.key != key);
        if let Some(Waiter { task: Some(task), .. }) = lock(&self.waiting).remove(&key) {
            task.abort();
        }
    }

    /// From a runtime thread, without the GIL.
    fn finish(&self, key: u64, outcome: Outcome) {
        lock(&self.finished).push((key, outcome));
        if !self.signalled.swap(true, Ordering::AcqRel) {
            // A full socket buffer means the loop has a wake-up pending anyway.
            let _ = (&self.writer).write(&[1]);
        }
    }

    /// Completes the future of `key` with `outcome`, on the loop's thread.
    fn deliver(&self, py: Python<'_>, key: u64, outcome: Outcome) -> PyResult<()> {
        let waiter = lock(&self.waiting).remove(&key);
        let future = waiter.and_then(|w| w.future).map(|weak| weak.bind(py).call0()).transpose()?;
        let Some(future) = future.filter(|f| !f.is_none()) else {
            return Ok(()); // its coroutine is gone
        };
        if future.call_method0(intern!(py, "done"))?.is_truthy()? {
            return Ok(()); // cancelled meanwhile
        }
        match outcome.map_err(|e| to_pyerr(py, e)).and_then(|convert| convert(py)) {
            Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
            Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),))?,
        };
        Ok(())
    }

    /// Delivers every result; one that cannot be delivered does not keep the others waiting (the
    /// first such error is raised after, for the loop to report).
    fn deliver_all(&self, py: Python<'_>, results: impl IntoIterator<Item = (u64, Outcome)>) -> PyResult<()> {
        let mut first_error = None;
        for (key, outcome) in results {
            if let Err(err) = self.deliver(py, key, outcome) {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Runs `batch`: on this (the loop's) thread within the budget when `inline`, the rest
    /// handed to the I/O runtime before the GIL is taken back (which may take seconds while
    /// another thread holds it), so that it goes on meanwhile. Returns the outcomes that came
    /// within the budget; the others complete their futures through `finish` later.
    fn run(
        self: &Arc<Self>,
        py: Python<'_>,
        rt: &'static IoRuntime,
        batch: Vec<Keyed>,
        inline: bool,
    ) -> Vec<(u64, Outcome)> {
        let hand_over = |rest: Vec<Keyed>| -> Vec<(u64, AbortHandle)> {
            rest.into_iter()
                .map(|keyed| {
                    let key = keyed.key;
                    let shared = Arc::clone(self);
                    let task = rt.spawn(async move {
                        let (key, outcome) = keyed.await;
                        shared.finish(key, outcome);
                    });
                    (key, task)
                })
                .collect()
        };
        let (done, handed_over) = if inline {
            py.detach(|| {
                let (done, rest) = rt.runtime().block_on(async {
                    let calls = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                    let budget =
                        INLINE_BUDGET.saturating_add(INLINE_BUDGET_PER_CALL.saturating_mul(calls.saturating_sub(1)));
                    let budget = tokio::time::sleep(budget.min(INLINE_BUDGET_MAX));
                    tokio::pin!(budget);
                    let mut batch = batch;
                    if batch.len() == 1 {
                        if let Some(mut lone) = batch.pop() {
                            // A lone await: no set of futures to keep.
                            return tokio::select! {
                                biased;
                                result = &mut lone => (vec![result], Vec::new()),
                                () = &mut budget => (Vec::new(), vec![lone]),
                            };
                        }
                    }
                    let mut pending: FuturesUnordered<Keyed> = batch.into_iter().collect();
                    let mut done = Vec::new();
                    loop {
                        tokio::select! {
                            biased;
                            next = pending.next() => match next {
                                Some(result) => done.push(result),
                                None => break,
                            },
                            () = &mut budget => break,
                        }
                    }
                    (done, pending.into_iter().collect::<Vec<_>>())
                });
                (done, hand_over(rest))
            })
        } else {
            (Vec::new(), hand_over(batch))
        };
        if inline && !handed_over.is_empty() {
            // Several misses in a row: the server is not that fast; stop holding the loop up
            // for it, for a while (after which one more miss turns inline attempts off again).
            if self.inline_misses.fetch_add(1, Ordering::Relaxed) + 1 >= INLINE_MISSES {
                *lock(&self.inline_after) = Some(Instant::now() + INLINE_BACKOFF);
            }
        } else if inline {
            self.inline_misses.store(0, Ordering::Relaxed);
        }
        let mut waiting = lock(&self.waiting);
        for (key, task) in handed_over {
            match waiting.get_mut(&key) {
                Some(waiter) => waiter.task = Some(task),
                None => task.abort(),
            }
        }
        drop(waiting);
        super::logging::emit_pending(py);
        done
    }

    fn inline_allowed(&self, calls: usize) -> bool {
        calls <= INLINE_MAX_CALLS && lock(&self.inline_after).is_none_or(|after| Instant::now() >= after)
    }
}

/// The core's error for a runtime that could not be started (the message is Python's).
fn runtime_failure(py: Python<'_>, err: &PyErr) -> crate::core::error::Error {
    crate::core::error::Error::new(crate::core::error::ErrorKind::Closed, err.value(py).to_string())
}

/// What starting a call gave: its outcome, or a future of the loop to wait on.
pub enum Started<'py> {
    Done(Outcome),
    Later(Bound<'py, PyAny>, u64),
}

/// One event loop's port.
#[pyclass(module = "wawp_presence._native", name = "Port", frozen)]
pub struct Port {
    pub(super) shared: Arc<PortShared>,
    reader: UnixStream,
}

thread_local! {
    /// The port of the loop this thread ran last (a weak reference to the loop, and the port).
    static LAST: RefCell<Option<(Py<PyAny>, Py<Port>)>> = const { RefCell::new(None) };
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PORTS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static WEAKREF: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl Port {
    /// The running loop and its port, made and registered on first use.
    pub fn for_running_loop(py: Python<'_>) -> PyResult<(Bound<'_, PyAny>, Bound<'_, Port>)> {
        let event_loop = GET_RUNNING_LOOP.import(py, "asyncio", "get_running_loop")?.call0()?;
        let cached = LAST.with_borrow(|last| {
            last.as_ref().and_then(|(weak, port)| {
                let alive = weak.bind(py).call0().ok()?;
                alive.is(&event_loop).then(|| port.clone_ref(py))
            })
        });
        if let Some(port) = cached {
            return Ok((event_loop, port.into_bound(py)));
        }
        // Another loop than last time on this thread: look it up, or make its port.
        let ports = PORTS
            .get_or_try_init(py, || py.import("weakref")?.getattr("WeakKeyDictionary")?.call0().map(Bound::unbind))?;
        let ports = ports.bind(py);
        let port = match ports.call_method1(intern!(py, "get"), (&event_loop,))? {
            found if !found.is_none() => found.cast_into::<Port>()?,
            _ => {
                let port = Bound::new(py, Port::new()?)?;
                event_loop
                    .call_method1(intern!(py, "add_reader"), (port.get().reader.as_raw_fd(), port.getattr("drain")?))?;
                ports.set_item(&event_loop, &port)?;
                port
            }
        };
        let weak = WEAKREF.import(py, "weakref", "ref")?.call1((&event_loop,))?;
        LAST.with_borrow_mut(|last| *last = Some((weak.unbind(), port.clone().unbind())));
        Ok((event_loop, port))
    }

    fn new() -> PyResult<Port> {
        let broken =
            |e: std::io::Error| PyRuntimeError::new_err(format!("cannot make the asyncio wake-up socket: {e}"));
        let (reader, writer) = UnixStream::pair().map_err(broken)?;
        reader.set_nonblocking(true).map_err(broken)?;
        writer.set_nonblocking(true).map_err(broken)?;
        let shared = PortShared {
            finished: Mutex::new(Vec::new()),
            signalled: AtomicBool::new(false),
            writer,
            unstarted: Mutex::new(Vec::new()),
            waiting: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(0),
            inline_after: Mutex::new(None),
            inline_misses: std::sync::atomic::AtomicU32::new(0),
        };
        Ok(Port { shared: Arc::new(shared), reader })
    }

    /// Registers `future` for the result of a call; returns the call's key.
    fn register(port: &Bound<'_, Port>, future: &Bound<'_, PyAny>) -> PyResult<u64> {
        let shared = &port.get().shared;
        let weak = WEAKREF.import(port.py(), "weakref", "ref")?.call1((future,))?;
        let key = shared.next_key.fetch_add(1, Ordering::Relaxed);
        lock(&shared.waiting).insert(key, Waiter { future: Some(weak.unbind()), task: None });
        Ok(key)
    }

    /// Starts a call. When nothing else waits to run on the loop (a lone `await`) it runs at
    /// once, on the loop's thread and within `INLINE_BUDGET`, and its outcome is returned if it
    /// ended: no asyncio future is made for it. Otherwise the call goes on as every other does:
    /// queued for this round's batch, or, when it ran out of budget, handed to the I/O runtime
    /// (before the GIL is taken back); the future returned is completed later.
    pub fn start_call<'py>(
        port: &Bound<'py, Port>,
        event_loop: &Bound<'py, PyAny>,
        fut: CoreFuture,
    ) -> PyResult<Started<'py>> {
        let py = port.py();
        let shared = &port.get().shared;
        // `_ready` is the loop's queue of callbacks due now (asyncio's own loops have it): with
        // others due, this call waits for the batch, so that a `gather` is not run one by one.
        let alone = lock(&shared.unstarted).is_empty()
            && shared.inline_allowed(1)
            && event_loop.getattr(intern!(py, "_ready")).and_then(|ready| ready.len()).is_ok_and(|n| n == 0);
        if !alone {
            let future = event_loop.call_method0(intern!(py, "create_future"))?;
            let key = Port::register(port, &future)?;
            Port::queue(port, event_loop, Keyed { key, fut })?;
            return Ok(Started::Later(future, key));
        }
        let key = shared.next_key.fetch_add(1, Ordering::Relaxed);
        lock(&shared.waiting).insert(key, Waiter { future: None, task: None });
        let done = shared.run(py, runtime()?, vec![Keyed { key, fut }], true);
        if let Some((_, outcome)) = done.into_iter().next() {
            lock(&shared.waiting).remove(&key);
            return Ok(Started::Done(outcome));
        }
        // Handed over: its result reaches the loop through `drain`, which runs on this thread
        // only after this returns, so the future is in place before it is looked for.
        let future = event_loop.call_method0(intern!(py, "create_future"))?;
        let weak = WEAKREF.import(py, "weakref", "ref")?.call1((&future,))?;
        if let Some(waiter) = lock(&shared.waiting).get_mut(&key) {
            waiter.future = Some(weak.unbind());
        }
        Ok(Started::Later(future, key))
    }

    /// Queues a call for this round's batch; the first of a round asks the loop to start them.
    fn queue(port: &Bound<'_, Port>, event_loop: &Bound<'_, PyAny>, keyed: Keyed) -> PyResult<()> {
        let py = port.py();
        let first = {
            let mut unstarted = lock(&port.get().shared.unstarted);
            unstarted.push(keyed);
            unstarted.len() == 1
        };
        if first {
            event_loop.call_method1(intern!(py, "call_soon"), (port.getattr(intern!(py, "start"))?,))?;
        }
        Ok(())
    }
}

#[pymethods]
impl Port {
    /// Starts this round's calls (see the module's comment).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let batch = std::mem::take(&mut *lock(&self.shared.unstarted));
        if batch.is_empty() {
            return Ok(());
        }
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(err) => {
                // No runtime to run them on: each call fails, rather than waiting forever.
                let failed = batch.into_iter().map(|keyed| (keyed.key, Err(runtime_failure(py, &err))));
                return self.shared.deliver_all(py, failed);
            }
        };
        let inline = self.shared.inline_allowed(batch.len());
        let done = self.shared.run(py, rt, batch, inline);
        self.shared.deliver_all(py, done)
    }

    /// The loop's reader callback: completes every future whose result has arrived.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut buf = [0u8; 256];
        loop {
            match (&self.reader).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Err(e) if e.kind() == IoErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        self.shared.signalled.store(false, Ordering::SeqCst);
        let finished = std::mem::take(&mut *lock(&self.shared.finished));
        super::logging::emit_pending(py);
        self.shared.deliver_all(py, finished)
    }
}
