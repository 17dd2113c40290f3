//! The wake-up socket of a port: a runtime thread writes one byte to it when results wait for
//! the loop, and the loop watches the other end. Both ends come from Python's
//! `socket.socketpair()`, which every platform has (AF_UNIX on Unix, a loopback TCP pair on
//! Windows, where asyncio makes its own self-pipe the same way); this side keeps its own clones
//! of them, so that they live as long as any runtime thread may still write.

use std::io::{ErrorKind, Read, Write};

#[cfg(unix)]
type Sock = std::os::unix::net::UnixStream;
#[cfg(windows)]
type Sock = std::net::TcpStream;

pub struct Wake {
    writer: Sock,
    reader: Sock,
}

/// Our own handle on a socket Python holds, by its `fileno()`.
#[cfg(unix)]
fn clone_of(fileno: i64) -> std::io::Result<Sock> {
    use std::os::fd::{BorrowedFd, RawFd};
    let fd = RawFd::try_from(fileno).map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
    // SAFETY: the Python socket that owns `fd` is alive for the whole call (the caller holds it).
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(Sock::from(borrowed.try_clone_to_owned()?))
}

#[cfg(windows)]
fn clone_of(fileno: i64) -> std::io::Result<Sock> {
    use std::os::windows::io::{BorrowedSocket, RawSocket};
    let socket = RawSocket::try_from(fileno).map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
    // SAFETY: the Python socket that owns `socket` is alive for the whole call (the caller holds it).
    let borrowed = unsafe { BorrowedSocket::borrow_raw(socket) };
    Ok(Sock::from(borrowed.try_clone_to_owned()?))
}

impl Wake {
    /// From the `fileno()`s of a connected pair of sockets.
    pub fn new(reader: i64, writer: i64) -> std::io::Result<Wake> {
        let (reader, writer) = (clone_of(reader)?, clone_of(writer)?);
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(Wake { writer, reader })
    }

    /// Wakes the loop. Never blocks: a full buffer means a wake-up is pending anyway.
    pub fn signal(&self) {
        let _ = (&self.writer).write(&[1]);
    }

    /// Reads what the signals left, so that the loop is not woken again for them.
    pub fn empty(&self) {
        let mut buf = [0u8; 256];
        loop {
            match (&self.reader).read(&mut buf) {
                Ok(n) if n == buf.len() => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
    }
}
