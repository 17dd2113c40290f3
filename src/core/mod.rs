//! The pure-Rust core: no pyo3 here, so all of it is tested with `cargo test` alone.

mod answer;
pub mod chat_id;
pub mod client;
pub mod config;
pub mod error;
mod escapes;
mod fast_parse;
pub mod fork;
pub mod html;
pub mod http;
pub mod model;
mod redact;
pub mod routes;
pub mod secret;
pub mod table;
pub mod watch;
pub mod webhook;

#[cfg(test)]
#[cfg(feature = "fake")]
mod client_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod webhook_tests;
