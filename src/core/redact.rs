//! Finding a secret in every form it takes on the wire.
//!
//! A server that echoes a request back may show a credential raw, percent- or form-encoded
//! (either hex case, every byte or only some), JSON-escaped, as HTML character references, or
//! through two of these at once: a JSON body quoting a percent-encoded URL, `%252B`, `&#37;2B`.
//! The text is decoded into views, byte strings that keep for every byte the span of the text it
//! came from; a secret found in any view blanks that span of the text.

use std::borrow::Cow;

use memchr::memmem::Finder;

/// Secrets shorter than this are not searched, and no shorter span of text is blanked: they
/// would turn ordinary words into `***`. URLs still hide them by parameter name.
pub(crate) const MIN_SECRET_BYTES: usize = 4;

/// How many encodings stacked on each other are undone. Two covers what servers do (JSON over
/// percent, percent twice, HTML over percent); each more layer triples the views to search.
const MAX_LAYERS: usize = 2;

/// One encoding that can be undone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layer {
    /// `%XX` in either hex case. `+` for a space is handled by folding (see `fold`).
    Percent,
    /// JSON string escapes, `\uXXXX` in either case and surrogate pairs included.
    Json,
    /// HTML character references: numeric, and the named ones escapers write.
    Html,
}

const LAYERS: [Layer; 3] = [Layer::Percent, Layer::Json, Layer::Html];

/// What one escape stands for.
enum Unit {
    Byte(u8),
    Char(char),
}

impl Layer {
    /// The byte every escape of this layer starts with: without it a view needs no decoding.
    fn lead(self) -> u8 {
        match self {
            Layer::Percent => b'%',
            Layer::Json => b'\\',
            Layer::Html => b'&',
        }
    }

    /// The escape `rest` starts with, if it is a valid one, and its length in bytes.
    fn unescape(self, rest: &[u8]) -> Option<(Unit, usize)> {
        match self {
            Layer::Percent => percent(rest),
            Layer::Json => json(rest),
            Layer::Html => html(rest),
        }
    }

    /// Calls `emit(byte, start, end)` for each byte of `input` with this layer undone, `start..end`
    /// being the input bytes it came from. An invalid or cut escape stays as it is, one byte at a
    /// time, so the next byte can still start a valid one. Returns whether any escape was undone.
    fn undo(self, input: &[u8], mut emit: impl FnMut(u8, usize, usize)) -> bool {
        let mut undone = false;
        let mut at = 0;
        let mut rest = input;
        while let [first, ..] = rest {
            let (unit, len) = match self.unescape(rest) {
                Some(found) => {
                    undone = true;
                    found
                }
                None => (Unit::Byte(*first), 1),
            };
            match unit {
                Unit::Byte(b) => emit(b, at, at + len),
                Unit::Char(c) => {
                    for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
                        emit(b, at, at + len);
                    }
                }
            }
            at += len;
            rest = rest.get(len..).unwrap_or_default();
        }
        undone
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn percent(rest: &[u8]) -> Option<(Unit, usize)> {
    match rest {
        [b'%', hi, lo, ..] => Some((Unit::Byte((hex_digit(*hi)? << 4) | hex_digit(*lo)?), 3)),
        _ => None,
    }
}

fn json(rest: &[u8]) -> Option<(Unit, usize)> {
    let [b'\\', escape, tail @ ..] = rest else {
        return None;
    };
    let c = match escape {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return json_u(tail),
        _ => return None,
    };
    Some((Unit::Char(c), 2))
}

/// The rest of `\uXXXX`, or of two of them when they are the surrogate halves of one char
/// beyond U+FFFF. A lone surrogate is no char and stays as written.
fn json_u(tail: &[u8]) -> Option<(Unit, usize)> {
    let high = hex4(tail)?;
    if !(0xD800..0xDC00).contains(&high) {
        return Some((Unit::Char(char::from_u32(high)?), 6));
    }
    let [b'\\', b'u', low @ ..] = tail.get(4..)? else {
        return None;
    };
    let low = hex4(low)?;
    if !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    let c = char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?;
    Some((Unit::Char(c), 12))
}

fn hex4(digits: &[u8]) -> Option<u32> {
    digits.get(..4)?.iter().try_fold(0, |n, &d| Some((n << 4) | u32::from(hex_digit(d)?)))
}

/// Named references an escaper may write for a character a token can hold. Matched without
/// regard to case: HTML accepts `&AMP;`, and a wider match only hides more.
const ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("quot", '"'),
    ("lt", '<'),
    ("gt", '>'),
    ("apos", '\''),
    ("sol", '/'),
    ("bsol", '\\'),
    ("plus", '+'),
    ("equals", '='),
    ("percnt", '%'),
    ("num", '#'),
    ("quest", '?'),
    ("colon", ':'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("excl", '!'),
    ("dollar", '$'),
    ("lowbar", '_'),
    ("hyphen", '-'),
    ("ast", '*'),
    ("nbsp", '\u{a0}'),
];

/// Longest reference read between `&` and `;`: `#x0010FFFF` and every name above fit.
const MAX_ENTITY: usize = 10;

fn html(rest: &[u8]) -> Option<(Unit, usize)> {
    let [b'&', body @ ..] = rest else { return None };
    // Without its `;` a reference is ambiguous (`&#x2Babc`), so it is required.
    let len = body.iter().take(MAX_ENTITY + 1).position(|&b| b == b';')?;
    let name = body.get(..len)?;
    let c = match name {
        [b'#', b'x' | b'X', digits @ ..] => char_from_digits(digits, 16)?,
        [b'#', digits @ ..] => char_from_digits(digits, 10)?,
        _ => ENTITIES.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))?.1,
    };
    Some((Unit::Char(c), len + 2))
}

fn char_from_digits(digits: &[u8], radix: u32) -> Option<char> {
    if digits.is_empty() {
        return None;
    }
    let n = digits.iter().try_fold(0u32, |n, &d| n.checked_mul(radix)?.checked_add(char::from(d).to_digit(radix)?))?;
    char::from_u32(n)
}

/// The text, or a decoding of it: `bytes[i]` stands for the text's bytes `spans[i]`.
struct View<'t> {
    bytes: Cow<'t, [u8]>,
    /// `None` for the text itself, where byte `i` stands for `i..i + 1`.
    spans: Option<Vec<(usize, usize)>>,
    /// The layers undone to get here, in the order they were undone.
    layers: Vec<Layer>,
}

impl<'t> View<'t> {
    fn text(text: &'t str) -> Self {
        View { bytes: Cow::Borrowed(text.as_bytes()), spans: None, layers: Vec::new() }
    }

    /// The span of the text that bytes `start..end` of this view stand for.
    fn span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let Some(spans) = &self.spans else {
            return Some((start, end));
        };
        Some((spans.get(start)?.0, spans.get(end.checked_sub(1)?)?.1))
    }

    /// This view with `layer` undone; `None` when it holds no escape of that layer, as the view
    /// would only repeat this one.
    fn undo(&self, layer: Layer) -> Option<View<'static>> {
        memchr::memchr(layer.lead(), &self.bytes)?;
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut spans = Vec::with_capacity(self.bytes.len());
        let undone = layer.undo(&self.bytes, |b, start, end| {
            // Always `Some`: `undo` only hands out ranges inside `self.bytes`.
            if let Some(span) = self.span(start, end) {
                bytes.push(fold(b));
                spans.push(span);
            }
        });
        let mut layers = self.layers.clone();
        layers.push(layer);
        undone.then_some(View { bytes: Cow::Owned(bytes), spans: Some(spans), layers })
    }
}

/// Every stack of layers a view can have undone, the text itself (no layer) first.
fn stacks() -> Vec<Vec<Layer>> {
    let mut all = vec![Vec::new()];
    let mut last = vec![Vec::new()];
    for _ in 0..MAX_LAYERS {
        last = last
            .iter()
            .flat_map(|stack: &Vec<Layer>| {
                LAYERS.iter().map(move |&layer| {
                    let mut next = stack.clone();
                    next.push(layer);
                    next
                })
            })
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

/// A space as `+`, in decoded views and what is searched there. Form encoding writes a space
/// as `+`, while a `+` left raw by a partial encoder is a plus, and one text may hold both
/// (`SECRET%20with+space`); folding the two together needs no guess. A wider match only hides
/// more.
fn fold(b: u8) -> u8 {
    if b == b' ' {
        b'+'
    } else {
        b
    }
}

/// The byte strings that show `secret` in a view with `stack` undone. In the text itself: the
/// secret, and the secret form-encoded where it needs nothing else (`SECRET+with+space`). In a
/// decoded view: the secret as each subset of those layers would read it, folded: an encoder
/// that leaves the secret's own `%41` (or `\n`, `&amp;`) raw makes the view show it decoded.
fn needles(secret: &[u8], stack: &[Layer]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if stack.is_empty() {
        // The text itself is not folded.
        out.push(secret.to_vec());
    }
    for subset in 0..1u32 << stack.len() {
        let mut form = secret.to_vec();
        for (i, layer) in stack.iter().enumerate() {
            if (subset >> i) & 1 == 1 {
                let mut decoded = Vec::with_capacity(form.len());
                layer.undo(&form, |b, _, _| decoded.push(b));
                form = decoded;
            }
        }
        out.push(form.into_iter().map(fold).collect());
    }
    // A decoded form can be shorter than the secret (`%41` reads as `A`): what it matches is
    // still held to `MIN_SECRET_BYTES` of text, in `search`.
    out.retain(|n| !n.is_empty());
    out.sort_unstable();
    out.dedup();
    out
}

/// Finds known secrets in text. Built once, from the secrets, by `Redactor::new`.
#[derive(Clone, Default)]
pub(crate) struct Matcher {
    /// For every stack of layers a view can have undone, the searchers for what shows a secret
    /// there. Empty when there is no secret to look for.
    stacks: Vec<(Vec<Layer>, Vec<Finder<'static>>)>,
    /// The most bytes of text one match can span (see `longest_form`).
    longest_form: usize,
}

/// The most bytes one escape of any layer takes per byte it stands for: an HTML reference, `&`,
/// up to `MAX_ENTITY` bytes and `;`, for a char of at least one byte.
const MAX_ESCAPE_BYTES: usize = MAX_ENTITY + 2;

impl Matcher {
    /// Secrets shorter than `MIN_SECRET_BYTES` are left out.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let secrets: Vec<&[u8]> =
            secrets.into_iter().map(str::as_bytes).filter(|s| s.len() >= MIN_SECRET_BYTES).collect();
        if secrets.is_empty() {
            return Matcher::default();
        }
        let stacks = stacks()
            .into_iter()
            .map(|stack| {
                let mut all: Vec<Vec<u8>> = secrets.iter().flat_map(|s| needles(s, &stack)).collect();
                all.sort_unstable();
                all.dedup();
                let finders = all.iter().map(|n| Finder::new(n).into_owned()).collect();
                (stack, finders)
            })
            .collect();
        let longest = secrets.iter().map(|s| s.len()).max().unwrap_or(0);
        Matcher { stacks, longest_form: longest.saturating_mul(MAX_ESCAPE_BYTES.pow(MAX_LAYERS as u32)) }
    }

    /// The most bytes of text that one occurrence of a secret, in any form searched, can span.
    pub(crate) fn longest_form(&self) -> usize {
        self.longest_form
    }

    /// `text` with every span that shows a known secret, in any form, replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redact_head(text, text.len())
    }

    /// Like `redact`, but only what stands before byte `end` of `text` (rounded down to a
    /// char): for text cut out of something longer, whose last `longest_form` bytes may hold
    /// the start of a secret that the cut made unrecognisable.
    pub(crate) fn redact_head(&self, text: &str, end: usize) -> String {
        let mut end = end.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let spans = self.find(text);
        let mut out = String::with_capacity(end);
        let mut kept = 0;
        for (start, stop) in spans.into_iter().take_while(|(start, _)| *start < end) {
            out.push_str(text.get(kept..start).unwrap_or_default());
            out.push_str("***");
            kept = stop;
        }
        out.push_str(text.get(kept.min(end)..end).unwrap_or_default());
        out
    }

    /// The byte ranges of `text` that show a known secret: sorted, disjoint, on char boundaries.
    fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        if !self.stacks.is_empty() {
            self.search(&View::text(text), &mut found);
        }
        // A decoded form of a secret need not be UTF-8 (`%Aa` is one byte), so a match can start
        // or end inside a char of the text: widen it to the whole char.
        for (start, end) in &mut found {
            *end = (*end).min(text.len());
            while *start > 0 && !text.is_char_boundary(*start) {
                *start -= 1;
            }
            while *end < text.len() && !text.is_char_boundary(*end) {
                *end += 1;
            }
        }
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (start, end) in found {
            match merged.last_mut() {
                // Adjacent spans merge too: one `***` for two secrets written back to back.
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// Searches `view`, then every view one more layer down.
    fn search(&self, view: &View<'_>, found: &mut Vec<(usize, usize)>) {
        let finders = self.stacks.iter().find(|(stack, _)| *stack == view.layers).map(|(_, f)| f);
        for finder in finders.into_iter().flatten() {
            let len = finder.needle().len();
            // Overlapping matches too, so that `abab` hides all of `ababab`.
            let mut from = 0;
            while let Some(at) = view.bytes.get(from..).and_then(|hay| finder.find(hay)) {
                let start = from + at;
                found.extend(view.span(start, start + len).filter(|(s, e)| e.saturating_sub(*s) >= MIN_SECRET_BYTES));
                from = start + 1;
            }
        }
        if view.layers.len() < MAX_LAYERS {
            for layer in LAYERS {
                if let Some(next) = view.undo(layer) {
                    self.search(&next, found);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
