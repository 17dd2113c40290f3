//! Tests of `transport`.
use super::*;
use crate::core::connection::POOL_IDLE_TIMEOUT;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts one connection, answers `answers` requests on it, then reports how long the
/// client kept it open after the last answer.
async fn one_connection_server(answers: usize) -> (url::Url, tokio::task::JoinHandle<Duration>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().expect("addr"))).expect("url");
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        for _ in 0..answers {
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.expect("read");
                seen.extend_from_slice(&buf[..n]);
            }
            socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await.expect("write");
        }
        let idle_from = tokio::time::Instant::now();
        while socket.read(&mut buf).await.map_or(0, |n| n) > 0 {}
        idle_from.elapsed()
    });
    (url, server)
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let (url, server) = one_connection_server(2).await;
    let transport = Transport::new(&url, "test", 4, None).expect("transport");
    for _ in 0..2 {
        let reply = transport.send(http::Method::GET, &url, &[], None, 1024).await.expect("answer");
        assert_eq!((reply.status, &reply.body[..]), (200, &b"{}"[..]));
    }
    let idle = server.await.expect("server");
    let limit = POOL_IDLE_TIMEOUT;
    assert!(idle >= limit && idle < limit + Duration::from_secs(1), "closed after {idle:?}");
}

#[tokio::test]
async fn an_abandoned_request_closes_its_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().expect("addr"))).expect("url");
    let transport = Transport::new(&url, "test", 4, None).expect("transport");
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        // Reads the request, never answers, and returns when the client hangs up.
        while socket.read(&mut buf).await.map_or(0, |n| n) > 0 {}
    });
    let call = transport.send(http::Method::GET, &url, &[], None, 1024);
    assert!(tokio::time::timeout(Duration::from_millis(100), call).await.is_err());
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the connection was closed").expect("server");
    assert!(transport.idle.lock().expect("lock").is_empty());
}

#[test]
fn a_chain_of_errors_reads_outer_to_inner_without_repeats() {
    let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("tcp connect error")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    assert_eq!(chain(&Outer(inner)), "tcp connect error: refused");
}
