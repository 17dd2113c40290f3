//! Which side of a `fork()` this process is on. The child of every fork bumps a counter (a
//! `pthread_atfork` handler), so "was this built in this process?" costs an atomic load instead
//! of a `getpid()` system call on every request. Windows has no fork: there the generation
//! never changes.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Changes in the child of every fork made after the first call.
pub fn generation() -> u64 {
    #[cfg(unix)]
    unix::watch();
    GENERATION.load(Ordering::Relaxed)
}

#[cfg(unix)]
mod unix {
    use super::GENERATION;
    use std::sync::atomic::Ordering;
    use std::sync::Once;

    static WATCH: Once = Once::new();

    extern "C" fn in_child() {
        // Only an atomic increment: the child of a multi-threaded process may do little else here.
        GENERATION.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn watch() {
        WATCH.call_once(|| {
            // SAFETY: registers a handler that only touches an atomic, for the life of the process.
            let failed = unsafe { libc::pthread_atfork(None, None, Some(in_child)) } != 0;
            if failed {
                // Without the handler, fall back to the process id, which a fork changes too.
                GENERATION.store(u64::from(std::process::id()) << 32, Ordering::Relaxed);
            }
        });
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_sees_another_generation() {
        let before = generation();
        assert_eq!(generation(), before);
        // SAFETY: the child only reads an atomic and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = if generation() != before { 0 } else { 1 };
            // SAFETY: leaves the child at once, running nothing of the parent's.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child saw the parent's generation");
        assert_eq!(generation(), before);
    }
}
