//! The I/O runtime, and how Python threads wait on it.
//!
//! One current-thread tokio runtime per process does all client I/O. A blocking call drives it
//! on the calling thread (`Runtime::block_on` with the GIL released), so a request's I/O and its
//! wake-ups stay on one thread: the shape that costs least per call. Work that must go on while
//! no call waits (asyncio calls, typing refreshes) is started with `spawn`, and a driver thread
//! drives the runtime for as long as any such task lives; when none does, it lets go and
//! blocking calls drive again. tokio lets several threads call `block_on` on one current-thread
//! runtime: one owns the I/O driver and wakes the others.
//!
//! No runtime thread ever takes the GIL: results reach asyncio through the loop's port
//! (`aio::port`), log records through a queue that Python threads empty (`logging`). A Python
//! thread holding the GIL for seconds cannot stall a request, and nothing needs stopping at
//! interpreter exit.
//!
//! After `os.fork()` the child has none of the parent's threads: the first use in the child
//! builds a fresh runtime (the parent's is leaked, as it cannot be shut down from there).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::core::error::{Error, ErrorKind};

/// How long a blocking call waits before it looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK_SLICE: Duration = Duration::from_millis(50);
/// Scheduler rounds run after the last background task ends or a blocking call is abandoned:
/// enough for connection tasks woken by a cancellation to close their sockets.
const SETTLE_ROUNDS: usize = 4;
/// How long the driver thread keeps driving after the last background task ended, so that a
/// loop of awaited calls does not hand the runtime back and forth between threads at every call
/// (a blocking call made meanwhile still runs: it is woken by the driver instead of driving).
const LINGER: Duration = Duration::from_millis(20);

/// A value built once per process: after a fork, the child builds its own.
pub struct PerProcess<T: 'static> {
    current: AtomicPtr<(u64, T)>,
}

impl<T: 'static> PerProcess<T> {
    pub const fn new() -> Self {
        PerProcess { current: AtomicPtr::new(std::ptr::null_mut()) }
    }

    /// This process's value, built by `build` on first use (by one thread; a loser of the race
    /// drops its own). Values are leaked, never freed: a parent's cannot be torn down in a child.
    pub fn get_or_build<E>(&self, build: impl FnOnce() -> Result<T, E>) -> Result<&'static T, E> {
        let generation = crate::core::fork::generation();
        let seen = self.current.load(Ordering::Acquire);
        // SAFETY: every pointer stored here comes from Box::into_raw and is never freed.
        if let Some((owner, value)) = unsafe { seen.as_ref() } {
            if *owner == generation {
                return Ok(value);
            }
        }
        let fresh = Box::into_raw(Box::new((generation, build()?)));
        match self.current.compare_exchange(seen, fresh, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: `fresh` was just published and is never freed.
            Ok(_) => Ok(unsafe { &(*fresh).1 }),
            Err(winner) => {
                // SAFETY: `fresh` was never published, so this is its only owner.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: published pointers are never freed.
                Ok(unsafe { &(*winner).1 })
            }
        }
    }
}

pub struct IoRuntime {
    runtime: Runtime,
    /// Tasks started with `spawn` that have not ended. Only its changes between zero and one
    /// wake anyone, so a busy client pays an atomic add per task.
    background: AtomicUsize,
    /// Held to sleep on `work` and to wake the sleeper, so that no wake-up is lost.
    idle: Mutex<()>,
    /// Wakes the driver thread when background work appears.
    work: Condvar,
    /// Tells the driving `block_on` that background work appeared or all of it ended.
    changed: Notify,
    /// Whether the driver thread was started (and, under the lock, starting it).
    driver_started: AtomicBool,
    driver: Mutex<bool>,
}

static IO: PerProcess<IoRuntime> = PerProcess::new();

pub fn runtime() -> PyResult<&'static IoRuntime> {
    IO.get_or_build(|| {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .thread_name("wawp-presence-blocking")
            .build()
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
        Ok(IoRuntime {
            runtime,
            background: AtomicUsize::new(0),
            idle: Mutex::new(()),
            work: Condvar::new(),
            changed: Notify::new(),
            driver_started: AtomicBool::new(false),
            driver: Mutex::new(false),
        })
    })
}

impl IoRuntime {
    fn count(&self) -> usize {
        self.background.load(Ordering::Acquire)
    }

    /// Starts `fut` as background work: it runs whether or not a blocking call is waiting, and
    /// aborting the returned handle drops it (closing any connection it had open). Fails only
    /// when the thread that drives background work cannot be started.
    pub fn spawn<F>(&'static self, fut: F) -> Result<JoinHandle<()>, Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let alive = Background::begin(self)?;
        // Unconstrained: a task that used up tokio's cooperative budget is woken again through
        // the scheduler's per-`block_on` list of deferred tasks, which is dropped when that
        // `block_on` returns; here several threads take turns driving, and a wake-up lost that
        // way would stall the task until its next timer. These tasks wait on I/O and timers, so
        // they yield by themselves.
        Ok(self.runtime.spawn(tokio::task::unconstrained(async move {
            let _alive = alive;
            fut.await;
        })))
    }

    /// `spawn` for a blocking call's own future: without a driver thread it still runs, driven
    /// by the blocking call's slices on its own thread.
    pub fn spawn_or_drive_here<F>(&'static self, fut: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match Background::begin(self) {
            Ok(alive) => self.runtime.spawn(tokio::task::unconstrained(async move {
                let _alive = alive;
                fut.await;
            })),
            Err(_) => self.runtime.spawn(tokio::task::unconstrained(fut)),
        }
    }

    /// Starts the driver thread once; an error says why it could not be started (and the next
    /// background task tries again).
    pub fn ensure_driver(&'static self) -> Result<(), Error> {
        if self.driver_started.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut started = self.driver.lock().unwrap_or_else(PoisonError::into_inner);
        if *started {
            return Ok(());
        }
        std::thread::Builder::new()
            .name("wawp-presence-io".into())
            .spawn(move || loop {
                {
                    let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                    while self.count() == 0 {
                        idle = self.work.wait(idle).unwrap_or_else(PoisonError::into_inner);
                    }
                }
                self.runtime.block_on(async {
                    self.until_idle().await;
                    settle().await;
                });
            })
            .map_err(|e| Error::new(ErrorKind::Closed, format!("cannot start the I/O thread: {e}")))?;
        *started = true;
        self.driver_started.store(true, Ordering::Release);
        Ok(())
    }

    /// Returns once no background task has lived for `LINGER`.
    async fn until_idle(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.count() == 0 {
                // Idle: go on driving a little longer, in case the next call follows at once.
                if tokio::time::timeout(LINGER, changed).await.is_err() && self.count() == 0 {
                    return;
                }
                continue;
            }
            changed.await;
        }
    }
}

/// Counts one background task for as long as it lives.
struct Background(&'static IoRuntime);

impl Background {
    fn begin(rt: &'static IoRuntime) -> Result<Background, Error> {
        rt.ensure_driver()?;
        if rt.background.fetch_add(1, Ordering::AcqRel) == 0 {
            let _idle = rt.idle.lock().unwrap_or_else(PoisonError::into_inner);
            rt.work.notify_one();
            rt.changed.notify_waiters();
        }
        Ok(Background(rt))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.0.background.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.changed.notify_waiters();
        }
    }
}

/// Lets tasks that a cancellation woke (a connection closing its socket) run.
async fn settle() {
    for _ in 0..SETTLE_ROUNDS {
        tokio::task::yield_now().await;
    }
}

/// Runs `fut` to completion with the GIL released. It is polled on the calling thread first;
/// a call still running after `SIGNAL_CHECK_SLICE` goes on as background work (so that it
/// progresses while this thread takes the GIL back, which another thread may hold for seconds)
/// and this thread looks for a pending signal between slices: KeyboardInterrupt aborts the call,
/// closing its connection, and is raised. Log records the call produced are handed to Python
/// after.
pub fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    block_on_ticking(py, fut, |_| Ok(()))
}

/// `block_on`, calling `tick` with the GIL between slices (every `SIGNAL_CHECK_SLICE` while the
/// call runs, so for a progress report): an error it raises aborts the call and is raised.
pub fn block_on_ticking<F>(
    py: Python<'_>,
    fut: F,
    mut tick: impl FnMut(Python<'_>) -> PyResult<()>,
) -> PyResult<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "a blocking wawp_presence call was made on an async runtime thread; use AsyncPresenceClient there",
        ));
    }
    let rt = runtime()?;
    super::logging::refresh(py);
    let mut fut = Box::pin(fut);
    let first = py.detach(|| {
        // (The timer is made inside the runtime: outside, tokio has no clock to give it.)
        let first = rt.runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK_SLICE, fut.as_mut()).await });
        // Still running: hand it over before taking the GIL back, which may take seconds.
        first.map_err(|_| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let task = rt.spawn_or_drive_here(async move {
                let _ = tx.send(fut.await);
            });
            (task, rx)
        })
    });
    let outcome = match first {
        Ok(value) => Ok(value),
        Err((task, mut rx)) => loop {
            if let Err(raised) = py.check_signals().and_then(|()| tick(py)) {
                task.abort();
                break Err(raised);
            }
            // (The timer is made inside the runtime: outside, tokio has no clock to give it.)
            match py.detach(|| rt.runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK_SLICE, &mut rx).await })) {
                Ok(Ok(value)) => break Ok(value),
                Ok(Err(_)) => {
                    let stopped =
                        Error::new(ErrorKind::Internal, "the call ended without an answer (its task stopped)");
                    break Err(super::errors::to_pyerr(py, stopped));
                }
                Err(_) => {}
            }
        },
    };
    super::logging::emit_pending(py);
    outcome
}
