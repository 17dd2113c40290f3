//! One layer of encoding undone, as a server may have applied it to a secret it echoes:
//! percent-encoding, JSON string escapes, HTML character references.

/// One encoding that can be undone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layer {
    /// `%XX` in either hex case. `+` for a space is handled by folding (see `fold`).
    Percent,
    /// JSON string escapes, `\uXXXX` in either case and surrogate pairs included.
    Json,
    /// HTML character references: numeric, and the named ones escapers write.
    Html,
}

pub const LAYERS: [Layer; 3] = [Layer::Percent, Layer::Json, Layer::Html];

/// What one escape stands for.
pub enum Unit {
    Byte(u8),
    Char(char),
}

impl Layer {
    /// The byte every escape of this layer starts with: without it a view needs no decoding.
    pub fn lead(self) -> u8 {
        match self {
            Layer::Percent => b'%',
            Layer::Json => b'\\',
            Layer::Html => b'&',
        }
    }

    /// The escape `rest` starts with, if it is a valid one, and its length in bytes.
    pub fn unescape(self, rest: &[u8]) -> Option<(Unit, usize)> {
        match self {
            Layer::Percent => percent(rest),
            Layer::Json => json(rest),
            Layer::Html => html(rest),
        }
    }

    /// Calls `emit(byte, start, end)` for each byte of `input` with this layer undone, `start..end`
    /// being the input bytes it came from. An invalid or cut escape stays as it is, one byte at a
    /// time, so the next byte can still start a valid one. Returns whether any escape was undone.
    pub fn undo(self, input: &[u8], mut emit: impl FnMut(u8, usize, usize)) -> bool {
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
pub const MAX_ENTITY: usize = 10;

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
