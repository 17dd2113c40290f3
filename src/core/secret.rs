//! Credentials that cannot print themselves, and the one place where text that may hold them
//! (URLs, response bodies) is redacted before it reaches an error, a repr or a log line.

use std::fmt;

use super::redact::Matcher;

/// A credential. Its `Debug` and `Display` write `***`; only `expose()` gives the value, and it
/// is called where the value goes on the wire and nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Query parameters whose values are always hidden, whatever they hold.
const SECRET_PARAMS: &[&str] = &["access_token", "api_key", "apikey", "token", "key", "x-api-key"];

/// Longest body excerpt kept on an error.
pub const BODY_EXCERPT_CHARS: usize = 500;

/// Removes known secret values from text. Built once per client from its credentials.
#[derive(Clone, Default)]
pub struct Redactor {
    matcher: Matcher,
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = Option<&'a Secret>>) -> Self {
        // Values under `MIN_SECRET_BYTES` are left out: they would turn ordinary words into
        // `***`; they are hidden in URLs by parameter name anyway.
        Redactor { matcher: Matcher::new(secrets.into_iter().flatten().map(Secret::expose)) }
    }

    /// Replaces every occurrence of a known secret with `***`, in every form a server can echo
    /// it: raw, percent- or form-encoded, JSON-escaped, HTML-escaped, or two of these stacked.
    pub fn redact(&self, text: &str) -> String {
        self.matcher.redact(text)
    }

    /// A URL fit for an error or a log: secret query values become `***`, and any known secret
    /// elsewhere in it too.
    pub fn redact_url(&self, url: &str) -> String {
        let hidden = match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let (query, fragment) = match query.split_once('#') {
                    Some((q, f)) => (q, Some(f)),
                    None => (query, None),
                };
                let params: Vec<String> = query
                    .split('&')
                    .map(|pair| match pair.split_once('=') {
                        Some((name, _)) if SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str()) => {
                            format!("{name}=***")
                        }
                        _ => pair.to_owned(),
                    })
                    .collect();
                let mut s = format!("{base}?{}", params.join("&"));
                if let Some(f) = fragment {
                    s.push('#');
                    s.push_str(f);
                }
                s
            }
        };
        self.redact(&hidden)
    }

    /// Redacts every text field of an error that can hold what a server said.
    pub fn scrub(&self, mut e: crate::core::error::Error) -> crate::core::error::Error {
        e.message = self.redact(&e.message);
        e.body = e.body.take().map(|b| self.redact(&b));
        e.code = e.code.take().map(|c| self.redact(&c));
        e.session_status = e.session_status.take().map(|s| self.redact(&s));
        e.url = e.url.take().map(|u| self.redact_url(&u));
        e
    }

    /// A redacted excerpt of a response body, cut to `BODY_EXCERPT_CHARS` characters. Only the
    /// start of a large body is read, so an 8 MiB error page costs no more than a small one.
    pub fn body_excerpt(&self, body: &[u8]) -> String {
        // Enough of the body for the excerpt whatever was redacted before its end; when the body
        // is cut, its last `longest_form` bytes are left out too, since a secret that the cut
        // runs through would no longer be recognised there.
        let longest = self.matcher.longest_form();
        let window = (BODY_EXCERPT_CHARS * 4).saturating_add(longest.saturating_mul(4)).max(64 * 1024);
        let (text, keep) = match body.get(..window) {
            Some(head) if head.len() < body.len() => {
                let text = String::from_utf8_lossy(head);
                let keep = text.len().saturating_sub(longest);
                (text, keep)
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let keep = text.len();
                (text, keep)
            }
        };
        let redacted = self.matcher.redact_head(&text, keep);
        let cut = keep < text.len();
        match redacted.char_indices().nth(BODY_EXCERPT_CHARS) {
            Some((at, _)) => format!("{}…", redacted.get(..at).unwrap_or_default()),
            None if cut => format!("{redacted}…"),
            None => redacted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("tok-SECRET-123456");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "tok-SECRET-123456");
    }

    #[test]
    fn url_hides_token_param_and_known_values() {
        let tok = Secret::new("tok-SECRET-123456");
        let r = Redactor::new([Some(&tok)]);
        let url = "https://api.wawp.net/v2/presence/1%40c.us?instance_id=I1&access_token=tok-SECRET-123456";
        let red = r.redact_url(url);
        assert_eq!(red, "https://api.wawp.net/v2/presence/1%40c.us?instance_id=I1&access_token=***");
        // An unknown token under the parameter name is hidden too.
        let other = r.redact_url("http://h/x?access_token=zzz&a=1#frag");
        assert_eq!(other, "http://h/x?access_token=***&a=1#frag");
    }

    #[test]
    fn a_huge_body_shows_no_part_of_a_secret_its_window_cuts() {
        let key = Secret::new("tok_SECRET+abc/def==");
        let r = Redactor::new([Some(&key)]);
        // Back-to-back secrets merge into one `***`, so the excerpt reaches the window's end
        // however long the run, and the window cuts one of them somewhere.
        for run in [1, 1000, 3_000, 3_277, 3_278, 100_000, 400_000] {
            let body = format!("{}tail", "tok_SECRET+abc/def==".repeat(run));
            let ex = r.body_excerpt(body.as_bytes());
            assert!(!ex.contains('S') && !ex.contains("tok"), "run {run}: {ex}");
            assert!(ex.starts_with("***"), "run {run}: {ex}");
        }
        let big = format!("bad token tok_SECRET%2Babc%2Fdef%3D%3D {}", "x".repeat(8 * 1024 * 1024));
        let ex = r.body_excerpt(big.as_bytes());
        assert!(ex.starts_with("bad token *** xxx") && ex.ends_with('…'), "{ex}");
        assert_eq!(ex.chars().count(), BODY_EXCERPT_CHARS + 1);
    }

    #[test]
    fn body_excerpt_redacts_and_cuts() {
        let key = Secret::new("key/SECRET+654321");
        let r = Redactor::new([None, Some(&key)]);
        let body = format!("bad key key/SECRET+654321 and key%2FSECRET%2B654321 {}", "x".repeat(1000));
        let ex = r.body_excerpt(body.as_bytes());
        assert!(!ex.contains("SECRET"));
        assert!(ex.starts_with("bad key *** and ***"));
        assert_eq!(ex.chars().count(), BODY_EXCERPT_CHARS + 1);
    }

    #[test]
    fn scrub_covers_every_server_text() {
        let tok = Secret::new("tok-SECRET-123456");
        let r = Redactor::new([Some(&tok)]);
        let body = br#"{"message":"bad token tok-SECRET-123456","code":"tok-SECRET-123456","status":"tok-SECRET-123456","expected":[]}"#;
        let e = crate::core::error::Error::from_status(422, body, String::from_utf8_lossy(body).into_owned(), None);
        let e = r.scrub(e.with_request("GET", "http://h/?access_token=tok-SECRET-123456"));
        let all = format!("{e} {e:?}");
        assert!(!all.contains("SECRET"), "{all}");
        // A session-status answer is told by its status: hidden too.
        assert_eq!(e.message, "the session is ***, not WORKING");
        assert_eq!(e.session_status.as_deref(), Some("***"));
    }

    #[test]
    fn body_excerpt_cut_shows_no_part_of_a_secret() {
        let key = Secret::new("key-SECRET-654321");
        let r = Redactor::new([Some(&key)]);
        for before in 490..BODY_EXCERPT_CHARS {
            let body = format!("{}key%2DSECRET%2D654321 tail", "x".repeat(before));
            let ex = r.body_excerpt(body.as_bytes());
            assert!(!ex.contains('k') && !ex.contains('%'), "{ex}");
        }
    }

    #[test]
    fn short_secrets_are_hidden_by_parameter_name_only() {
        let tok = Secret::new("abc");
        let r = Redactor::new([Some(&tok)]);
        assert_eq!(r.redact("abc %61%62%63"), "abc %61%62%63");
        assert_eq!(r.redact_url("http://h/?access_token=abc&x=abc"), "http://h/?access_token=***&x=abc");
    }

    #[test]
    fn invalid_utf8_body_does_not_fail() {
        let r = Redactor::default();
        let ex = r.body_excerpt(&[0xff, 0xfe, b'a']);
        assert!(ex.ends_with('a'));
    }
}
