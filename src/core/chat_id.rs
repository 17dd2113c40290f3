//! Chat ids: the forms `wire.md` accepts, normalised, checked before any request, and encoded
//! so that no id can change a request's path.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::error::{Error, ErrorKind, Result};

/// Everything but unreserved characters and `@` is percent-encoded in a path segment, so `/`,
/// `?`, `#` and `%` can never reach the server as path syntax.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~').remove(b'.').remove(b'@');

/// Phone numbers per E.164 have at most 15 digits; fewer than 7 is no real number.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;
/// Ids in the `@c.us` and other domains: WhatsApp's are numeric, and lids run longer.
const ID_DIGITS: std::ops::RangeInclusive<usize> = 5..=32;

/// A chat id in its canonical form. The only way to make one is `ChatId::parse`, so a function
/// that takes a `ChatId` knows it was checked, and checks nothing again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(String);

impl ChatId {
    /// The canonical form of `input`, or `InvalidChatId` saying which forms are accepted.
    pub fn parse(input: &str) -> Result<ChatId> {
        normalize(input).map(ChatId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ChatId> for String {
    fn from(id: ChatId) -> String {
        id.0
    }
}

fn normalize(input: &str) -> Result<String> {
    let s = input.trim();
    match s.rsplit_once('@') {
        Some((local, domain_as_given)) => {
            let domain = domain_as_given.to_ascii_lowercase();
            let ok = match domain.as_str() {
                "c.us" | "lid" | "newsletter" => is_digits(local, &ID_DIGITS),
                // Another engine's notation for a contact; may carry a `:device` suffix.
                "s.whatsapp.net" => {
                    let user = local.split_once(':').map_or(
                        local,
                        |(u, dev)| {
                            if is_digits(dev, &(1..=4)) {
                                u
                            } else {
                                local
                            }
                        },
                    );
                    if is_digits(user, &ID_DIGITS) {
                        return Ok(format!("{user}@c.us"));
                    }
                    false
                }
                // New groups are `<digits>`, old ones `<creator>-<timestamp>`.
                "g.us" => match local.split_once('-') {
                    Some((a, b)) => is_digits(a, &ID_DIGITS) && is_digits(b, &(1..=20)),
                    None => is_digits(local, &ID_DIGITS),
                },
                _ => false,
            };
            if ok {
                // Most ids arrive canonical already: one copy, not a rebuilt string.
                Ok(if domain_as_given == domain { s.to_owned() } else { format!("{local}@{domain}") })
            } else {
                Err(invalid(input))
            }
        }
        None => phone_to_chat_id(s).ok_or_else(|| invalid(input)),
    }
}

/// `+44 7441 429009`, `447441429009`, `(44) 7441-429009` -> `447441429009@c.us`.
fn phone_to_chat_id(s: &str) -> Option<String> {
    let body = s.strip_prefix('+').unwrap_or(s);
    let mut digits = String::with_capacity(body.len());
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '(' | ')' | '.' => {}
            _ => return None,
        }
    }
    is_digits(&digits, &PHONE_DIGITS).then(|| format!("{digits}@c.us"))
}

fn is_digits(s: &str, len: &std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn invalid(input: &str) -> Error {
    let shown: String = input.chars().take(80).collect();
    Error::new(
        ErrorKind::InvalidChatId,
        format!(
            "invalid chat id {shown:?}: expected a phone number or <digits>@c.us, <digits>@s.whatsapp.net, \
             <id>@g.us, <id>@lid or <id>@newsletter"
        ),
    )
    .about_chat(input)
}

/// Percent-encodes a (normalised) chat id or session for use as one URL path segment. Dots stay
/// as they are: URL parsers resolve `%2E%2E` like `..`, so encoding cannot protect a dot segment;
/// valid chat ids never are one, sessions that are one are refused, and the client checks that
/// every request path is the route it filled in.
pub fn encode_path_segment(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

/// Like `normalize`, but keeps what the server sent when it is not an id we know, so that a
/// participant id in an answer is never a reason to fail.
pub fn normalize_lenient(id: &str) -> String {
    normalize(id).unwrap_or_else(|_| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let cases = [
            ("447441429009@c.us", "447441429009@c.us"),
            ("  447441429009@C.US ", "447441429009@c.us"),
            ("447441429009@s.whatsapp.net", "447441429009@c.us"),
            ("447441429009:12@s.whatsapp.net", "447441429009@c.us"),
            ("120363025246125486@g.us", "120363025246125486@g.us"),
            ("447441429009-1609459200@g.us", "447441429009-1609459200@g.us"),
            ("123456789012345@lid", "123456789012345@lid"),
            ("120363147369470311@newsletter", "120363147369470311@newsletter"),
            ("+44 7441 429009", "447441429009@c.us"),
            ("447441429009", "447441429009@c.us"),
            ("(44) 7441-429.009", "447441429009@c.us"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejected_forms() {
        for bad in [
            "",
            "   ",
            "abc",
            "@c.us",
            "../x@c.us",
            "1/2@g.us",
            "x@c.us?y=1",
            "a#b@lid",
            "447441429009@evil.com",
            "447441429009@c.us/..",
            "12@c.us",
            "+",
            "++447441429009",
            "4474414290091234567",
            "447441429009@@c.us",
            "44 7441 429009@c.us",
            "447441429009%40c.us",
            "447441429009@c.us\n@c.us",
            "٤٤٧٤٤١٤٢٩٠٠٩",
        ] {
            let err = normalize(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidChatId, "{bad:?}");
            assert!(err.message.contains("invalid chat id"));
        }
    }

    #[test]
    fn encoding_keeps_ids_inside_one_segment() {
        assert_eq!(encode_path_segment("447441429009@c.us"), "447441429009@c.us");
        assert_eq!(encode_path_segment("../a/b?c#d%"), "..%2Fa%2Fb%3Fc%23d%25");
    }
}
