//! Finding a secret in every form it takes on the wire.
//!
//! A server that echoes a request back may show a credential raw, percent- or form-encoded
//! (either hex case, every byte or only some), JSON-escaped, as HTML character references, or
//! through two of these at once: a JSON body quoting a percent-encoded URL, `%252B`, `&#37;2B`.
//! The text is decoded into views, byte strings that keep for every byte the span of the text it
//! came from; a secret found in any view blanks that span of the text.

use std::borrow::Cow;

use memchr::memmem::Finder;

use super::escapes::{Layer, LAYERS, MAX_ENTITY};

/// Secrets shorter than this are not searched, and no shorter span of text is blanked: they
/// would turn ordinary words into `***`. URLs still hide them by parameter name.
pub(crate) const MIN_SECRET_BYTES: usize = 4;

/// How many encodings stacked on each other are undone. Two covers what servers do (JSON over
/// percent, percent twice, HTML over percent); each more layer triples the views to search.
const MAX_LAYERS: usize = 2;

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
