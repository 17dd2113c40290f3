//! What a client is made from: its options, their defaults, and the checks that refuse a bad
//! one before anything is sent.

use std::time::Duration;

use super::error::{Error, Result};
use super::routes::Backend;
use super::secret::Secret;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MAX_RETRIES: u32 = 2;
pub const DEFAULT_SESSION: &str = "default";
/// Requests in flight at once per client, and so connections in use to its one host: every
/// `concurrency` above it waits for a free connection instead of opening another descriptor.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub const MAX_MAX_CONNECTIONS: usize = 4096;
pub fn default_user_agent() -> String {
    format!("wawp-presence/{}", env!("CARGO_PKG_VERSION"))
}

/// Everything a client is made from; also what a pickled Python client carries.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    pub backend: Backend,
    pub base_url: String,
    pub session: String,
    pub instance_id: Option<String>,
    pub access_token: Option<Secret>,
    pub api_key: Option<Secret>,
    /// Bound on one whole attempt: connect, send, and read the answer.
    pub timeout: Duration,
    pub max_retries: u32,
    /// Most requests per second across the whole client.
    pub rate_limit: Option<f64>,
    pub user_agent: String,
    /// Most requests in flight at once, which bounds the connections the client opens.
    pub max_connections: usize,
}

impl ClientConfig {
    pub fn wawp(instance_id: impl Into<String>, access_token: impl Into<String>) -> Self {
        ClientConfig {
            backend: Backend::Wawp,
            base_url: Backend::Wawp.spec().default_base_url.unwrap_or_default().to_owned(),
            session: DEFAULT_SESSION.to_owned(),
            instance_id: Some(instance_id.into()),
            access_token: Some(Secret::new(access_token)),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            rate_limit: None,
            user_agent: default_user_agent(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }

    pub fn waha(base_url: impl Into<String>, session: impl Into<String>, api_key: Option<String>) -> Self {
        ClientConfig {
            backend: Backend::Waha,
            base_url: base_url.into(),
            session: session.into(),
            instance_id: None,
            access_token: None,
            api_key: api_key.map(Secret::new),
            ..ClientConfig::wawp("", "")
        }
    }

    /// Checks every option; a bad one is an `InvalidArgument` naming it. A URL quoted in a
    /// message has its credentials hidden.
    pub fn validate(&self) -> Result<url::Url> {
        let bad = |msg: String| Err(Error::invalid_argument(msg));
        if self.backend == Backend::Wawp {
            if self.instance_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
                return bad("instance_id must be a non-empty string".into());
            }
            if self.access_token.as_ref().is_none_or(|s| s.expose().trim().is_empty()) {
                return bad("access_token must be a non-empty string".into());
            }
        }
        if self
            .api_key
            .as_ref()
            .is_some_and(|k| k.expose().is_empty() || http::HeaderValue::from_str(k.expose()).is_err())
        {
            return bad("api_key must be a non-empty string of visible ASCII characters".into());
        }
        check_session(&self.session)?;
        if !(self.timeout > Duration::ZERO && self.timeout <= Duration::from_secs(24 * 3600)) {
            return bad(format!("timeout must be more than 0 seconds (and at most a day), not {:?}", self.timeout));
        }
        if self.max_retries > 100 {
            return bad(format!("max_retries must be between 0 and 100, not {}", self.max_retries));
        }
        if !(1..=MAX_MAX_CONNECTIONS).contains(&self.max_connections) {
            return bad(format!(
                "max_connections must be between 1 and {MAX_MAX_CONNECTIONS}, not {}",
                self.max_connections
            ));
        }
        if let Some(rate) = self.rate_limit {
            // At least one request a day, so the pacing period stays a sane Duration.
            if !(rate.is_finite() && rate >= 1.0 / (24.0 * 3600.0)) {
                return bad(format!(
                    "rate_limit must be a positive number of requests per second (at least one a day), not {rate:?}"
                ));
            }
        }
        if http::HeaderValue::from_str(&self.user_agent).is_err() {
            return bad("user_agent must be visible ASCII text".into());
        }
        let shown = || without_credentials(self.base_url.trim());
        let url = url::Url::parse(self.base_url.trim())
            .map_err(|e| Error::invalid_argument(format!("base_url {:?} is not a URL ({e})", shown())))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return bad(format!("base_url must be an http:// or https:// URL with a host, not {:?}", shown()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return bad("base_url must not carry credentials, a query or a fragment; use access_token / api_key".into());
        }
        Ok(url)
    }
}

/// A WAHA session name goes into the path as one segment. `.` and `..` (in any encoding: URL
/// parsers resolve `%2E%2E` too) would change which route is asked, so they are refused.
fn check_session(session: &str) -> Result<()> {
    let name = session.trim();
    if name.is_empty() {
        return Err(Error::invalid_argument("session must be a non-empty string"));
    }
    let mut decoded = name.to_owned();
    // Each round peels one layer of percent-encoding; a name that decodes to a dot segment at any
    // depth is refused. Five layers is more than any server decodes.
    for _ in 0..5 {
        if decoded == "." || decoded == ".." {
            return Err(Error::invalid_argument(format!(
                "session {name:?} is a path step (\".\" or \"..\"), not a session name"
            )));
        }
        let next = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_argument("session must not hold control characters"));
    }
    Ok(())
}

/// A URL (or text meant as one) with any `user:password@` before its host replaced by `***@`,
/// so that a refused `base_url` or a proxy can be named in a message.
pub fn without_credentials(text: &str) -> String {
    let (scheme, rest) = match text.find("://") {
        Some(i) => text.split_at(i + 3),
        None => ("", text),
    };
    let (authority, after) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}{after}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorKind;

    #[test]
    fn config_validation_names_the_option() {
        let ok = ClientConfig::wawp("inst", "tok");
        assert!(ok.validate().is_ok());
        let cases: Vec<(ClientConfig, &str)> = vec![
            (ClientConfig::wawp("", "tok"), "instance_id"),
            (ClientConfig::wawp("i", " "), "access_token"),
            (ClientConfig { timeout: Duration::ZERO, ..ok.clone() }, "timeout"),
            (ClientConfig { max_retries: 1000, ..ok.clone() }, "max_retries"),
            (ClientConfig { rate_limit: Some(f64::NAN), ..ok.clone() }, "rate_limit"),
            (ClientConfig { rate_limit: Some(0.0), ..ok.clone() }, "rate_limit"),
            (ClientConfig { base_url: "ftp://x".into(), ..ok.clone() }, "base_url"),
            (ClientConfig { base_url: "not a url".into(), ..ok.clone() }, "base_url"),
            (ClientConfig { base_url: "http://u:p@h".into(), ..ok.clone() }, "base_url"),
            (ClientConfig::waha("http://h", "", None), "session"),
            (ClientConfig::waha("http://h", "..", None), "session"),
            (ClientConfig::waha("http://h", " . ", None), "session"),
            (ClientConfig::waha("http://h", "%2E%2e", None), "session"),
            (ClientConfig::waha("http://h", ".%2E", None), "session"),
            (ClientConfig::waha("http://h", "%252e%252E", None), "session"),
            (ClientConfig::waha("http://h", "a\nb", None), "session"),
            (ClientConfig { max_connections: 0, ..ok.clone() }, "max_connections"),
            (ClientConfig { max_connections: MAX_MAX_CONNECTIONS + 1, ..ok.clone() }, "max_connections"),
            (ClientConfig::waha("http://h", "s", Some("bad\nkey".into())), "api_key"),
        ];
        for (cfg, name) in cases {
            let err = cfg.validate().unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument);
            assert!(err.message.contains(name), "{} should name {name}", err.message);
        }
    }

    #[test]
    fn sessions_with_dots_that_are_names_are_fine() {
        for session in ["default", "my.session", "...", "a..b", "%2E%2E%2E", "tenant-a"] {
            assert!(ClientConfig::waha("http://h", session, None).validate().is_ok(), "{session}");
        }
    }

    #[test]
    fn a_refused_base_url_is_quoted_without_its_password() {
        for url in [
            "admin:hunter2@waha.internal:3000",
            "ftp://user:hunter2@waha.internal/x",
            "http://user:hunter2@/api",
            "http://:hunter2@",
            "not a url user:hunter2@x",
        ] {
            let err = ClientConfig { base_url: url.into(), ..ClientConfig::wawp("i", "t") }.validate().unwrap_err();
            assert!(err.message.contains("base_url"), "{}", err.message);
            assert!(!err.message.contains("hunter2"), "{}", err.message);
        }
        assert_eq!(without_credentials("https://u:p@h:1/a?b#c"), "https://***@h:1/a?b#c");
        assert_eq!(without_credentials("http://h/a@b"), "http://h/a@b");
        assert_eq!(without_credentials("u:p@h"), "***@h");
    }

    #[test]
    fn config_debug_hides_secrets() {
        let cfg = ClientConfig { api_key: Some(Secret::new("key-SECRET")), ..ClientConfig::wawp("i", "tok-SECRET") };
        let text = format!("{cfg:?}");
        assert!(!text.contains("SECRET"), "{text}");
    }
}
