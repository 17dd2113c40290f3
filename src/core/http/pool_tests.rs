//! Tests of `pool`: what a server sees of the connections.
use super::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Accepts one connection, answers `answers` requests on it, then reports how long the client
/// kept it open after the last answer.
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

fn pool_for(url: &url::Url) -> Pool {
    Pool::new(&ClientConfig::waha(url.as_str(), "default", None)).expect("pool")
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_is_closed_once_the_idle_timeout_has_passed() {
    let (url, server) = one_connection_server(2).await;
    let pool = pool_for(&url);
    for _ in 0..2 {
        let reply = pool.send(reqwest::Method::GET, &url, None, 1024).await.expect("answer");
        assert_eq!((reply.status, &reply.body[..]), (200, &b"{}"[..]));
    }
    let idle = server.await.expect("server");
    // The pool looks for expired connections every POOL_IDLE_TIMEOUT, so one goes between one
    // and two of them after its last use.
    assert!(
        idle >= POOL_IDLE_TIMEOUT && idle <= 2 * POOL_IDLE_TIMEOUT + Duration::from_secs(1),
        "closed after {idle:?}"
    );
}

#[tokio::test]
async fn an_abandoned_request_closes_its_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().expect("addr"))).expect("url");
    let pool = pool_for(&url);
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        // Reads the request, never answers, and returns when the client hangs up.
        while socket.read(&mut buf).await.map_or(0, |n| n) > 0 {}
    });
    let call = pool.send(reqwest::Method::GET, &url, None, 1024);
    assert!(tokio::time::timeout(Duration::from_millis(100), call).await.is_err());
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("the connection was closed").expect("server");
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_whether_or_not_it_declares_its_length() {
    for head in ["Content-Length: 64", "Transfer-Encoding: chunked"] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().expect("addr"))).expect("url");
        let chunked = head.starts_with("Transfer");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let body = if chunked { format!("40\r\n{}\r\n0\r\n\r\n", "x".repeat(64)) } else { "x".repeat(64) };
            let answer = format!("HTTP/1.1 200 OK\r\n{head}\r\n\r\n{body}");
            let _ = socket.write_all(answer.as_bytes()).await;
        });
        let refused = pool_for(&url).send(reqwest::Method::GET, &url, None, 32).await;
        assert!(matches!(refused, Err(Failure::TooLarge(200))), "{head}: {:?}", refused.err());
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_failure_that_names_the_cause_not_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = url::Url::parse(&format!("http://{}/x?access_token=SECRET", listener.local_addr().expect("addr")))
        .expect("url");
    drop(listener);
    match pool_for(&url).send(reqwest::Method::GET, &url, None, 1024).await {
        Err(Failure::Connect(text)) => {
            assert!(!text.contains("SECRET") && !text.contains("error sending request"), "{text}");
            assert!(text.to_lowercase().contains("refused"), "{text}");
        }
        other => panic!("expected a connect failure, got {:?}", other.err()),
    }
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

/// The Python clients' shape: a current-thread runtime that runs only while a call is made.
/// The server ends each kept connection shortly after answering (a short keep-alive); the next
/// call, made after a pause in which nothing ran, must not go out on the dead connection.
#[test]
fn a_kept_connection_the_server_ended_while_nothing_ran_is_not_used() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = url::Url::parse(&format!("http://{}/x", listener.local_addr().expect("addr"))).expect("url");
    let server = std::thread::spawn(move || {
        let mut served = 0;
        while served < 4 {
            let (mut socket, _) = listener.accept().expect("accept");
            socket.set_read_timeout(Some(Duration::from_millis(20))).expect("timeout");
            let mut buf = vec![0u8; 4096];
            // Answers what comes within the keep-alive, then closes.
            while let Ok(n) = socket.read(&mut buf) {
                if n == 0 {
                    break;
                }
                socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").expect("write");
                served += 1;
            }
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let pool = runtime.block_on(async { pool_for(&url) });
    for _ in 0..4 {
        let reply = runtime.block_on(pool.send(reqwest::Method::GET, &url, None, 1024));
        assert_eq!(reply.expect("an answer, not a failure on the closed connection").status, 200);
        std::thread::sleep(Duration::from_millis(60));
    }
    server.join().expect("server");
}
