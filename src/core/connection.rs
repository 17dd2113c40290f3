//! One kept HTTP/1.1 connection: hyper's sender, the task that drives the socket, and what the
//! pool needs to know of it (idle since when, closed by the server or not).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;

pub type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;
type Sender = SendRequest<Full<Bytes>>;

/// A connection that is not in the pool is closed when dropped: an abandoned request (timed
/// out, cancelled) never leaves a half-read answer on a connection someone else takes.
pub struct Conn {
    pub sender: Sender,
    task: tokio::task::AbortHandle,
    pub state: Arc<ConnState>,
    /// When it was last put back in the pool (as `idle_since`), kept at checkout.
    pub idle_ms: u64,
    /// The socket, only to peek at (see `peer_has_closed`).
    fd: Option<Fd>,
}

#[cfg(unix)]
type Fd = std::os::fd::RawFd;
#[cfg(not(unix))]
type Fd = ();

impl Conn {
    /// Whether the server has closed this idle connection (or reset it). The descriptor is only
    /// peeked at, which changes nothing whatever it has become: at worst a stale answer sends
    /// the request down the usual path, where hyper finds the connection closed.
    #[cfg(unix)]
    pub fn peer_has_closed(&self) -> bool {
        let Some(fd) = self.fd else { return false };
        let mut byte = 0u8;
        // SAFETY: a one-byte buffer we own; MSG_PEEK leaves the socket's data where it is.
        let n = unsafe { libc::recv(fd, (&raw mut byte).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        match n {
            0 => true,
            n if n > 0 => false, // data (a TLS ticket, say) is the connection's to read
            _ => std::io::Error::last_os_error().kind() != std::io::ErrorKind::WouldBlock,
        }
    }

    #[cfg(not(unix))]
    pub fn peer_has_closed(&self) -> bool {
        false
    }
}

#[cfg(unix)]
fn socket_of(stream: &Stream) -> Option<Fd> {
    use std::os::fd::AsRawFd;
    Some(match stream {
        MaybeHttpsStream::Http(tcp) => tcp.inner().as_raw_fd(),
        MaybeHttpsStream::Https(tls) => tls.inner().get_ref().0.inner().inner().as_raw_fd(),
    })
}

#[cfg(not(unix))]
fn socket_of(_: &Stream) -> Option<Fd> {
    None
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An idle connection is closed after this long, so a burst does not hold descriptors for
/// minutes after it is over (long enough to keep one across `watch`'s default 5 s polls).
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// When the connection went idle (milliseconds since `epoch()`), or `BUSY`.
pub struct ConnState {
    pub idle_since: AtomicU64,
}

pub const BUSY: u64 = u64::MAX;
/// A kept connection idle this long is checked for a close before it is used (a back-to-back
/// call does not pay for the system call).
pub const RECHECK_AFTER_MS: u64 = 1;

/// tokio's clock, which a test can pause.
fn epoch() -> tokio::time::Instant {
    static EPOCH: OnceLock<tokio::time::Instant> = OnceLock::new();
    *EPOCH.get_or_init(tokio::time::Instant::now)
}

pub fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(BUSY - 1)
}

impl Conn {
    /// HTTP/1.1 over `stream`, its socket driven by a task of its own until the connection
    /// ends, is dropped, or sits idle for `POOL_IDLE_TIMEOUT`.
    pub async fn start(stream: Stream) -> Result<Conn, hyper::Error> {
        let fd = socket_of(&stream);
        let (sender, connection) = http1::handshake(stream).await?;
        let state = Arc::new(ConnState { idle_since: AtomicU64::new(BUSY) });
        // Unconstrained, as the bindings' own tasks are (see `py::runtime::IoRuntime::spawn`).
        let task =
            tokio::spawn(tokio::task::unconstrained(close_when_idle(connection, Arc::clone(&state)))).abort_handle();
        Ok(Conn { sender, task, state, idle_ms: BUSY, fd })
    }
}

/// Drives a connection until it ends or has been idle for `POOL_IDLE_TIMEOUT`.
async fn close_when_idle(connection: impl Future, state: Arc<ConnState>) {
    let idle_for = POOL_IDLE_TIMEOUT;
    let mut connection = pin!(connection);
    let mut check = tokio::time::Instant::now() + idle_for;
    loop {
        tokio::select! {
            biased;
            _ = &mut connection => return,
            () = tokio::time::sleep_until(check) => {
                let since = state.idle_since.load(Ordering::Relaxed);
                let idle_ms = u64::try_from(idle_for.as_millis()).unwrap_or(u64::MAX);
                if since != BUSY && now_ms().saturating_sub(since) >= idle_ms {
                    return;
                }
                let wait = if since == BUSY { idle_for } else { Duration::from_millis((since + idle_ms).saturating_sub(now_ms())) };
                check = tokio::time::Instant::now() + wait.max(Duration::from_millis(1));
            }
        }
    }
}
