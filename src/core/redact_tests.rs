//! Tests of `redact`.
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;

use crate::core::secret::{Redactor, Secret};

fn percent_all(s: &str, upper: bool) -> String {
    s.bytes().map(|b| if upper { format!("%{b:02X}") } else { format!("%{b:02x}") }).collect()
}

fn percent_upper(s: &str) -> String {
    percent_all(s, true)
}

fn percent_lower(s: &str) -> String {
    percent_all(s, false)
}

/// `NON_ALPHANUMERIC` in upper-case hex, as `percent-encoding` writes it.
fn percent_non_alnum(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn percent_twice(s: &str) -> String {
    percent_non_alnum(&percent_non_alnum(s))
}

/// Every other char encoded, in lower case: any subset of the bytes may be.
fn percent_some(s: &str) -> String {
    s.chars().enumerate().map(|(i, c)| if i % 2 == 1 { percent_lower(&c.to_string()) } else { c.to_string() }).collect()
}

fn form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// How the client puts the access token in its URLs.
fn query_pair(s: &str) -> String {
    let mut url = url::Url::parse("http://h/").unwrap();
    url.query_pairs_mut().append_pair("t", s);
    url.query().unwrap().strip_prefix("t=").unwrap().to_owned()
}

/// A URL parser's query encoding: a few bytes encoded, `+`, `/`, `%`, `&` left raw.
fn query_parsed(s: &str) -> String {
    let mut url = url::Url::parse("http://h/").unwrap();
    // A raw `#` would end the query.
    url.set_query(Some(&format!("t={}", s.replace('#', "%23"))));
    url.query().unwrap().strip_prefix("t=").unwrap().to_owned()
}

fn json(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    quoted[1..quoted.len() - 1].to_owned()
}

/// JSON as PHP writes it, `/` escaped.
fn json_slash(s: &str) -> String {
    json(s).replace('/', "\\/")
}

fn json_u(s: &str, upper: bool) -> String {
    s.encode_utf16().map(|u| if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") }).collect()
}

fn json_u_upper(s: &str) -> String {
    json_u(s, true)
}

fn json_u_lower(s: &str) -> String {
    json_u(s, false)
}

fn html_decimal(s: &str) -> String {
    s.chars().map(|c| format!("&#{};", u32::from(c))).collect()
}

fn html_hex_upper(s: &str) -> String {
    s.chars().map(|c| format!("&#x{:X};", u32::from(c))).collect()
}

fn html_hex_lower(s: &str) -> String {
    s.chars().map(|c| format!("&#x{:x};", u32::from(c))).collect()
}

fn html_named(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Named references for the characters escapers leave alone, `+` as Go writes it.
fn html_named_more(s: &str) -> String {
    html_named(s).replace('\'', "&apos;").replace('+', "&#43;").replace('/', "&sol;")
}

/// A JSON body quoting a URL: the query percent-encoded, then `/` escaped.
fn json_over_query(s: &str) -> String {
    json_slash(&query_parsed(s))
}

fn json_over_form(s: &str) -> String {
    json_u_lower(&form(s))
}

/// An HTML page quoting a URL.
fn html_over_query(s: &str) -> String {
    html_named(&query_parsed(s))
}

fn html_over_percent(s: &str) -> String {
    html_decimal(&percent_lower(s))
}

type Encoder = fn(&str) -> String;

const ENCODERS: &[(&str, Encoder)] = &[
    ("raw", str::to_owned),
    ("percent upper", percent_upper),
    ("percent lower", percent_lower),
    ("percent non-alphanumeric", percent_non_alnum),
    ("percent some", percent_some),
    ("percent twice", percent_twice),
    ("form", form),
    ("query pair", query_pair),
    ("query parsed", query_parsed),
    ("json", json),
    ("json slash", json_slash),
    ("json \\u upper", json_u_upper),
    ("json \\u lower", json_u_lower),
    ("html decimal", html_decimal),
    ("html hex upper", html_hex_upper),
    ("html hex lower", html_hex_lower),
    ("html named", html_named),
    ("html named more", html_named_more),
    ("json over query", json_over_query),
    ("json over form", json_over_form),
    ("html over query", html_over_query),
    ("html over percent", html_over_percent),
];

const TOKENS: &[&str] =
    &["tok_SECRET+abc/def==", "SECRET with space", "k\"ey\\with/quote", "clé-SECRET-ünï", "tok-😀-SECRET"];

#[test]
fn every_form_of_a_token_is_hidden_and_its_context_kept() {
    for token in TOKENS {
        let secret = Secret::new(*token);
        let r = Redactor::new([Some(&secret)]);
        for (name, encode) in ENCODERS {
            let text = format!("access_token={}&x=1", encode(token));
            assert_eq!(r.redact(&text), "access_token=***&x=1", "{name} of {token:?}: {text}");
            let body = format!(r#"{{"url":"http:\/\/h\/?t={}","n":1}}"#, encode(token));
            assert_eq!(r.redact(&body), r#"{"url":"http:\/\/h\/?t=***","n":1}"#, "{name} of {token:?}: {body}");
        }
    }
}

#[test]
fn forms_seen_leaking_are_hidden() {
    let tok = Secret::new("tok_SECRET+abc/def==");
    let space = Secret::new("SECRET with space");
    let r = Redactor::new([Some(&tok), Some(&space)]);
    for text in [
        "tok_SECRET%2Babc%2Fdef%3D%3D",
        "tok_SECRET%2babc%2fdef%3d%3d",
        "tok_SECRET%2Babc/def==",
        "tok_SECRET+abc\\/def==",
        "tok_SECRET\\u002babc\\u002Fdef==",
        "tok_SECRET&#43;abc&#x2F;def&#x3d;=",
        "tok_SECRET%252Babc%252Fdef%253D%253D",
        "tok_SECRET&#37;2Babc&#37;2Fdef==",
        "SECRET+with+space",
        "SECRET%20with+space",
        "SECRET\\u0020with&#32;space",
    ] {
        assert_eq!(r.redact(&format!("<{text}>")), "<***>", "{text}");
    }
}

#[test]
fn broken_escapes_are_plain_text() {
    let tok = Secret::new("tok+SECRET");
    let r = Redactor::new([Some(&tok)]);
    for text in [
        "%",
        "%4",
        "%zz",
        "%%",
        "\\",
        "\\u12",
        "\\ud800",
        "\\uDC00",
        "\\ud800\\u0041",
        "\\ud83d\\ud83d",
        "\\x41",
        "&",
        "&#",
        "&#;",
        "&#x;",
        "&#xD800;",
        "&#99999999999;",
        "&#x110000;",
        "&unknown;",
        "&amp",
        "&#43",
        "\u{fffd}%ff%fe",
    ] {
        assert_eq!(r.redact(text), text);
        let next_to = format!("{text}tok+SECRET{text}");
        assert_eq!(r.redact(&next_to), format!("{text}***{text}"), "{text}");
    }
    // Escapes that decode to bytes that are not UTF-8 are searched as bytes all the same.
    let r = Redactor::new([Some(&Secret::new("é-SECRET"))]);
    assert_eq!(r.redact("%ff%c3%a9-SECRET%c3"), "%ff***%c3");
}

#[test]
fn overlapping_and_adjacent_matches_leave_no_piece() {
    let r = Redactor::new([Some(&Secret::new("abab"))]);
    assert_eq!(r.redact("xababab%61%62y"), "x***y");
    let (a, b) = (Secret::new("key-ONE"), Secret::new("key-TWO"));
    let r = Redactor::new([Some(&a), Some(&b)]);
    assert_eq!(r.redact("key-ONEkey%2DTWO and key-TWO"), "*** and ***");
}

#[test]
fn a_secret_that_looks_escaped_is_found_whether_its_escapes_were_encoded_or_left_raw() {
    let r = Redactor::new([Some(&Secret::new("p%41ss w\\n&amp;"))]);
    for text in [
        "p%41ss w\\n&amp;",
        "p%2541ss%20w%5Cn%26amp%3B",
        "p%41ss%20w\\n&amp;",
        "p%41ss+w\\n&amp;",
        "p%41ss w\\\\n&amp;amp;",
    ] {
        assert_eq!(r.redact(text), "***", "{text}");
    }
    // Left raw by a URL parser, `%Aa` reads as one byte: the secret's decoded form is
    // shorter than `MIN_SECRET_BYTES`, the text it spans is not.
    let r = Redactor::new([Some(&Secret::new("%Aa<"))]);
    assert_eq!(r.redact("t=%Aa%3C&u=%aa<"), "t=***&u=***");
    let r = Redactor::new([Some(&Secret::new("%41%42"))]);
    assert_eq!(r.redact("AB, %41%42, %2541%2542"), "AB, ***, ***");
}

/// A percent-encoder of its own: the bytes it encodes chosen by `encoded`, each in either
/// hex case by `upper`. Letters and digits stay raw, as with every encoder that does not
/// encode all bytes: one that left `%` raw but encoded a hex digit after it would make a
/// secret's own `%41` read neither as written nor as decoded, and it would not be found.
fn percent_chosen(s: &str, encoded: u32, upper: u64) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let bit = if c.is_ascii() { u32::from(c) % 31 } else { 31 };
        if c.is_ascii_alphanumeric() || (encoded >> bit) & 1 == 0 {
            out.push(c);
        } else {
            let all = if (upper >> (i % 64)) & 1 == 1 { percent_upper } else { percent_lower };
            out.push_str(&all(&c.to_string()));
        }
    }
    out
}

fn token() -> impl Strategy<Value = String> {
    // Letters and digits, everything escapes are made of and non-ASCII up to four-byte
    // chars. No `*`: the `***` written in a secret's place could re-form it.
    "[A-Za-z0-9+/=%&?#;\"\\\\<> éüß中😀_.-]{4,40}"
}

/// Text biased towards escapes, whole, cut and invalid ones.
fn escapy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "([%&#;\\\\xXuU0-9a-fA-F+ é😀]|%[0-9a-fA-F]{0,2}|\\\\u[dD][89abAB][0-9a-fA-F]{0,2}|&#x?[0-9a-fA-F]{0,8};?|&[a-z]{0,6};?){0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_form_of_a_secret_survives(
        token in token(),
        before in any::<String>(),
        after in any::<String>(),
        encoded in any::<u32>(),
        upper in any::<u64>(),
    ) {
        let secret = Secret::new(token.clone());
        let r = Redactor::new([Some(&secret)]);
        let chosen = percent_chosen(&token, encoded, upper);
        let forms = ENCODERS.iter().map(|(name, encode)| (*name, encode(&token)));
        for (name, shown) in forms.chain([("percent chosen", chosen)]) {
            // The spaces stop an escape cut at the end of `before` from taking in the first
            // bytes of the encoded token, which would change what they decode to.
            let text = format!("{before} {shown} {after}");
            let out = r.redact(&text);
            prop_assert!(out.contains("***"), "{} of {:?}: {:?}", name, token, out);
            prop_assert!(!out.contains(&token), "{} of {:?}: {:?}", name, token, out);
            prop_assert!(!out.contains(&shown), "{} of {:?}: {:?}", name, token, out);
        }
    }

    #[test]
    fn any_text_and_secret_redact_without_panicking(
        secret in escapy(),
        text in escapy(),
        body in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let s = Secret::new(secret.clone());
        let r = Redactor::new([Some(&s), None]);
        for text in [text.clone(), format!("{text}{secret}{text}")] {
            let out = r.redact(&text);
            prop_assert!(std::str::from_utf8(out.as_bytes()).is_ok());
            if secret.len() >= super::MIN_SECRET_BYTES && !secret.contains('*') {
                prop_assert!(!out.contains(&secret), "{:?} in {:?}", secret, out);
            }
            let _ = r.redact_url(&text);
        }
        let _ = r.body_excerpt(&body);
    }
}
