//! The difference between Wawp and WAHA, as data: where each operation goes and how a request
//! proves who it is. Routes marked *(inferred)* in wire.md live here and only here.

use std::fmt;
use std::str::FromStr;

use super::error::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The hosted Wawp API.
    Wawp,
    /// A self-hosted WAHA server.
    Waha,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Wawp => "wawp",
            Backend::Waha => "waha",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wawp" => Ok(Backend::Wawp),
            "waha" => Ok(Backend::Waha),
            _ => Err(Error::invalid_argument(format!("backend must be \"wawp\" or \"waha\", not {s:?}"))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    SetPresence,
    GetChat,
    GetAll,
    Subscribe,
    StartTyping,
    StopTyping,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// How a request carries credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `instance_id` and `access_token` as query parameters on every request.
    InstanceQuery,
    /// An optional API key in the `X-Api-Key` header.
    ApiKeyHeader,
}

/// How `typing()` is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypingStyle {
    /// Dedicated start/stop routes taking `chatId` as a query parameter.
    Routes,
    /// Setting presence `typing`, then `paused`, with `chatId` in the body.
    Presence,
}

/// `{session}` and `{chatId}` in a path are filled in per request; `{chatId}` percent-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

pub struct BackendSpec {
    pub default_base_url: Option<&'static str>,
    pub auth: Auth,
    pub typing: TypingStyle,
    routes: [(Operation, Route); 6],
}

const fn route(method: Method, path: &'static str) -> Route {
    Route { method, path }
}

const WAWP: BackendSpec = BackendSpec {
    default_base_url: Some("https://api.wawp.net"),
    auth: Auth::InstanceQuery,
    typing: TypingStyle::Routes,
    routes: [
        (Operation::SetPresence, route(Method::Post, "/v2/presence")), // (inferred)
        (Operation::GetChat, route(Method::Get, "/v2/presence/{chatId}")), // (inferred)
        (Operation::GetAll, route(Method::Get, "/v2/presence")),       // (inferred)
        (Operation::Subscribe, route(Method::Post, "/v2/presence/{chatId}/subscribe")),
        (Operation::StartTyping, route(Method::Post, "/v2/send/start-typing")),
        (Operation::StopTyping, route(Method::Post, "/v2/send/stop-typing")),
    ],
};

const WAHA: BackendSpec = BackendSpec {
    default_base_url: None,
    auth: Auth::ApiKeyHeader,
    typing: TypingStyle::Presence,
    routes: [
        (Operation::SetPresence, route(Method::Post, "/api/{session}/presence")),
        (Operation::GetChat, route(Method::Get, "/api/{session}/presence/{chatId}")),
        (Operation::GetAll, route(Method::Get, "/api/{session}/presence")),
        (Operation::Subscribe, route(Method::Post, "/api/{session}/presence/{chatId}/subscribe")),
        // WAHA types through set-presence (TypingStyle::Presence); these are its chatting routes.
        (Operation::StartTyping, route(Method::Post, "/api/startTyping")),
        (Operation::StopTyping, route(Method::Post, "/api/stopTyping")),
    ],
};

impl Backend {
    pub fn spec(self) -> &'static BackendSpec {
        match self {
            Backend::Wawp => &WAWP,
            Backend::Waha => &WAHA,
        }
    }
}

impl BackendSpec {
    pub fn route(&self, op: Operation) -> Route {
        // Every operation is in every table (checked by a test), so the fallback is unreachable.
        self.routes.iter().find(|(o, _)| *o == op).map_or(self.routes[0].1, |(_, r)| *r)
    }
}

/// Fills a route's path. `chat_segment` must already be percent-encoded.
pub fn fill_path(route: Route, session_segment: &str, chat_segment: Option<&str>) -> String {
    let path = route.path.replace("{session}", session_segment);
    match chat_segment {
        Some(chat) => path.replace("{chatId}", chat),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPS: [Operation; 6] = [
        Operation::SetPresence,
        Operation::GetChat,
        Operation::GetAll,
        Operation::Subscribe,
        Operation::StartTyping,
        Operation::StopTyping,
    ];

    #[test]
    fn every_backend_has_every_operation_once() {
        for backend in [Backend::Wawp, Backend::Waha] {
            for op in OPS {
                let n = backend.spec().routes.iter().filter(|(o, _)| *o == op).count();
                assert_eq!(n, 1, "{backend} {op:?}");
            }
        }
    }

    #[test]
    fn paths_are_filled() {
        let get = Backend::Waha.spec().route(Operation::GetChat);
        assert_eq!(fill_path(get, "default", Some("1%2F2@c.us")), "/api/default/presence/1%2F2@c.us");
        let set = Backend::Wawp.spec().route(Operation::SetPresence);
        assert_eq!((set.method, fill_path(set, "x", None).as_str()), (Method::Post, "/v2/presence"));
    }

    #[test]
    fn backend_names() {
        assert_eq!("WAHA".parse::<Backend>().unwrap(), Backend::Waha);
        assert!("other".parse::<Backend>().is_err());
    }
}
