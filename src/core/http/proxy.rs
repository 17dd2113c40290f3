//! The proxy a client's requests go through, as error messages name it. reqwest reads the
//! environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, and on macOS and Windows the
//! system settings) with hyper-util's matcher; asking the same matcher once per client tells
//! which proxy that is, so that a dead proxy does not read as a dead server.

use hyper_util::client::proxy::matcher::{Intercept, Matcher};

use crate::core::config::without_credentials;

/// The proxy the environment names for `base_url`, if any: decided once, since the client
/// talks to one host.
pub fn system_proxy(base_url: &str) -> Option<Intercept> {
    let uri: http::Uri = base_url.trim().parse().ok()?;
    Matcher::from_system().intercept(&uri)
}

/// A proxy as a message names it: its URL, credentials as `***`.
pub fn shown_proxy(intercept: &Intercept) -> String {
    let proxy = intercept.uri();
    let shown = without_credentials(proxy.to_string().trim_end_matches('/'));
    // The matcher moves `user:password@` out of the URI (an http proxy's into a Basic header, a
    // SOCKS proxy's as they are); say that there were some, not what.
    let credentials = intercept.basic_auth().is_some() || intercept.raw_auth().is_some();
    match (credentials, proxy.scheme_str()) {
        (true, Some(scheme)) if !shown.contains('@') => {
            shown.replacen(&format!("{scheme}://"), &format!("{scheme}://***@"), 1)
        }
        _ => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_named_without_its_credentials() {
        let matcher = |url: &str| {
            Matcher::builder().all(url.to_owned()).build().intercept(&"http://waha.internal/".parse().unwrap())
        };
        for (proxy, shown) in [
            ("http://user:hunter2@127.0.0.1:3128", "http://***@127.0.0.1:3128"),
            ("socks5h://user:hunter2@10.0.0.1:1080", "socks5h://***@10.0.0.1:1080"),
            ("socks5://10.0.0.1:1080", "socks5://10.0.0.1:1080"),
            ("https://proxy.internal:8443", "https://proxy.internal:8443"),
        ] {
            let intercept = matcher(proxy).expect(proxy);
            assert_eq!(shown_proxy(&intercept), shown, "{proxy}");
        }
    }
}
