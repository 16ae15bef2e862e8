//! The fast way through a document: one pass over the body that writes the
//! document's JSON text as serde_json would write it back (the answer's
//! `input_received`), finds the records and measures the document on the way,
//! with no tree and no allocation but the record list.
//!
//! Most of a body is usually written just as serde_json writes it: keys and
//! strings without escapes, integers, punctuation. Such bytes are not written
//! one token at a time but copied in runs: the scanner keeps them pending
//! and appends them only when it meets something that
//! serde_json writes differently (whitespace, `\/`, a `\u` escape, a float
//! spelt otherwise), so a compact document is copied in one piece.
//!
//! It reads only what it is sure to read exactly as serde_json does, and gives
//! up on anything else, leaving the body to the exact path (a [`Json`] tree
//! parsed by serde_json): invalid JSON (serde_json words the error), a key
//! that comes back in an object (serde_json keeps its first place and last
//! value), objects of more than [`MAX_KEYS`] keys, a number with more than
//! [`MAX_DIGITS`] digits or an exponent past [`MAX_EXPONENT`], a `\u` escape of
//! a lone surrogate, and nesting deeper than [`MAX_LEVEL`].
//!
//! [`Json`]: crate::document::Json

use std::ops::Range;

use crate::document::Number;
use crate::stats::{InputStats, Kind};
use crate::transform::{Key, Record};
use crate::writer;

/// Objects with more keys are left to the exact path, whose index of keys
/// keeps a huge object linear; here each key is compared with the others.
pub const MAX_KEYS: usize = 32;
/// A significand of at most 18 digits always fits serde_json's `u64`.
pub const MAX_DIGITS: u32 = 18;
/// Within ±22, powers of ten are exact floats, so a float is one
/// multiplication or division, as serde_json computes it.
pub const MAX_EXPONENT: i32 = 22;
/// Well within serde_json's limit (it refuses a 128th level).
pub const MAX_LEVEL: usize = 100;

/// What a successful pass found.
#[derive(Debug)]
pub struct Scanned {
    pub records: Vec<Record>,
    pub stats: InputStats,
}

/// The pass gave up: the exact path decides.
#[derive(Debug)]
struct Unsure;

type Step<T = ()> = Result<T, Unsure>;

/// Appends the document's JSON text to `out` and returns its records and
/// statistics, or `None` (with `out` in any state) for the exact path.
pub fn scan(body: &[u8], out: &mut Vec<u8>) -> Option<Scanned> {
    // serde_json refuses invalid UTF-8 anywhere; knowing it is valid lets a
    // string's bytes be copied as they are.
    std::str::from_utf8(body).ok()?;
    let mut scanner = Scanner {
        text: body,
        at: 0,
        copied: 0,
        out,
        stats: InputStats::new(body.len()),
        records: Vec::new(),
        keys: Vec::new(),
    };
    scanner.document().ok()?;
    scanner.flush();
    Some(Scanned {
        records: scanner.records,
        stats: scanner.stats,
    })
}

struct Scanner<'b, 'o> {
    text: &'b [u8],
    /// Where the next byte of `text` to read is.
    at: usize,
    /// `text[copied..at]` reads as serde_json writes it; it is still to be
    /// appended to `out`.
    copied: usize,
    out: &'o mut Vec<u8>,
    stats: InputStats,
    records: Vec<Record>,
    /// The keys of the objects being read, innermost last.
    keys: Vec<SeenKey>,
}

/// A key already read in an object.
struct SeenKey {
    /// Where it is in the output (see [`Scanner::position`]).
    text: Range<usize>,
    /// Its length and its first and last byte, so that most keys are told
    /// apart by one comparison.
    fingerprint: u64,
}

/// Which records an object's entries are.
#[derive(Clone, Copy)]
enum Entries {
    /// None: the object is not the document nor one of its elements.
    Plain,
    /// One record each, from the array element `index` if any.
    Records { index: Option<usize> },
}

impl Scanner<'_, '_> {
    /// The whole body: one value and whitespace around it.
    fn document(&mut self) -> Step {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => self.object(0, Entries::Records { index: None })?,
            Some(b'[') => self.array(0, true)?,
            _ => {
                let value = self.written(|scanner| scanner.value(0))?;
                self.records.push(Record {
                    key: Key::Value,
                    value,
                    index: None,
                });
            }
        }
        self.skip_whitespace();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(Unsure)
        }
    }

    /// A value found inside `level` containers.
    fn value(&mut self, level: usize) -> Step {
        match self.peek().ok_or(Unsure)? {
            b'{' => self.object(level, Entries::Plain),
            b'[' => self.array(level, false),
            b'"' => {
                self.stats.add(Kind::String, level);
                self.string()
            }
            b'n' => self.literal(b"null", Kind::Null, level),
            b't' => self.literal(b"true", Kind::Bool, level),
            b'f' => self.literal(b"false", Kind::Bool, level),
            b'-' | b'0'..=b'9' => self.number(level),
            _ => Err(Unsure),
        }
    }

    fn object(&mut self, level: usize, entries: Entries) -> Step {
        if level >= MAX_LEVEL {
            return Err(Unsure);
        }
        self.stats.add(Kind::Object, level);
        self.at += 1;
        self.skip_whitespace();
        if self.eat(b'}') {
            return Ok(());
        }
        let first_key = self.keys.len();
        loop {
            if self.peek() != Some(b'"') {
                return Err(Unsure);
            }
            let key = self.written(Self::string)?;
            if key.start < self.out.len() {
                // Partly appended already: append the rest, so that the key
                // is in one place (see `written_text`).
                self.flush();
            }
            let fingerprint = self.check_new_key(first_key, key.clone())?;
            self.keys.push(SeenKey {
                text: key.clone(),
                fingerprint,
            });
            self.skip_whitespace();
            if !self.eat(b':') {
                return Err(Unsure);
            }
            self.skip_whitespace();
            let value = self.written(|scanner| scanner.value(level + 1))?;
            if let Entries::Records { index } = entries {
                self.records.push(Record {
                    key: Key::Written(key),
                    value,
                    index,
                });
            }
            if !self.next_element(b'}')? {
                break;
            }
            self.skip_whitespace();
        }
        self.keys.truncate(first_key);
        Ok(())
    }

    /// Gives up if `key`, just read, is one of the object's earlier keys (two
    /// keys are the same text exactly when they are written the same); else
    /// returns its fingerprint.
    #[inline]
    fn check_new_key(&self, first_key: usize, key: Range<usize>) -> Step<u64> {
        let earlier = &self.keys[first_key..];
        if earlier.len() >= MAX_KEYS {
            return Err(Unsure);
        }
        let text = self.written_text(key);
        let fingerprint = fingerprint(text);
        let same = |other: &SeenKey| other.fingerprint == fingerprint && self.written_text(other.text.clone()) == text;
        if earlier.iter().any(same) {
            return Err(Unsure);
        }
        Ok(fingerprint)
    }

    /// The bytes at `range` of the output, whether appended or pending; the
    /// range must not straddle the two.
    #[inline]
    fn written_text(&self, range: Range<usize>) -> &[u8] {
        match range.start.checked_sub(self.out.len()) {
            Some(pending) => {
                let start = self.copied + pending;
                &self.text[start..start + range.len()]
            }
            None => &self.out[range],
        }
    }

    /// An array; when `records`, the document itself, whose elements are
    /// records (an object element gives one per entry).
    fn array(&mut self, level: usize, records: bool) -> Step {
        if level >= MAX_LEVEL {
            return Err(Unsure);
        }
        self.stats.add(Kind::Array, level);
        self.at += 1;
        self.skip_whitespace();
        if self.eat(b']') {
            return Ok(());
        }
        let mut index = 0;
        loop {
            if !records {
                self.value(level + 1)?;
            } else if self.peek() == Some(b'{') {
                let entries = Entries::Records { index: Some(index) };
                self.object(level + 1, entries)?;
            } else {
                let value = self.written(|scanner| scanner.value(level + 1))?;
                self.records.push(Record {
                    key: Key::Index(index),
                    value,
                    index: Some(index),
                });
            }
            if !self.next_element(b']')? {
                return Ok(());
            }
            self.skip_whitespace();
            index += 1;
        }
    }

    /// After a container's element: `true` on a comma, `false` on the
    /// `closing` bracket.
    #[inline]
    fn next_element(&mut self, closing: u8) -> Step<bool> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(byte) if byte == closing => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Unsure),
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8], kind: Kind, level: usize) -> Step {
        if !self.text[self.at..].starts_with(word) {
            return Err(Unsure);
        }
        self.stats.add(kind, level);
        self.at += word.len();
        Ok(())
    }

    /// A string (also a key), written back with serde_json's escapes.
    #[inline]
    fn string(&mut self) -> Step {
        self.at += 1;
        loop {
            self.at += plain_run(&self.text[self.at..]).ok_or(Unsure)?;
            match self.text[self.at] {
                b'"' => break,
                b'\\' => self.escape()?,
                // serde_json refuses raw control characters in strings.
                _ => return Err(Unsure),
            }
        }
        self.at += 1;
        Ok(())
    }

    /// An escape sequence in a string, written as serde_json writes the
    /// character it stands for.
    #[inline(never)]
    fn escape(&mut self) -> Step {
        let start = self.at;
        match self.text.get(start + 1).ok_or(Unsure)? {
            // Written the same way back.
            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
            b'/' => {
                self.at += 2;
                self.rewrite(start, |out| out.push(b'/'));
            }
            b'u' => {
                let character = self.unicode_escape()?;
                let mut utf8 = [0; 4];
                let utf8 = character.encode_utf8(&mut utf8).as_bytes();
                self.rewrite(start, |out| writer::escape(out, utf8));
            }
            _ => return Err(Unsure),
        }
        Ok(())
    }

    /// `\uXXXX`, or two of them for a surrogate pair.
    fn unicode_escape(&mut self) -> Step<char> {
        let first = self.hex_escape()?;
        let code = match first {
            0xd800..=0xdbff => match self.hex_escape()? {
                second @ 0xdc00..=0xdfff => 0x10000 + (((first - 0xd800) << 10) | (second - 0xdc00)),
                _ => return Err(Unsure),
            },
            _ => first,
        };
        // A lone trailing surrogate is no char: serde_json refuses it too.
        char::from_u32(code).ok_or(Unsure)
    }

    /// Four hex digits after `\u`.
    fn hex_escape(&mut self) -> Step<u32> {
        let sequence = self.text.get(self.at..self.at + 6).ok_or(Unsure)?;
        if &sequence[..2] != b"\\u" {
            return Err(Unsure);
        }
        let mut code = 0;
        for &digit in &sequence[2..] {
            code = code << 4 | char::from(digit).to_digit(16).ok_or(Unsure)?;
        }
        self.at += 6;
        Ok(code)
    }

    /// A number, kept as serde_json keeps it: an integer without fraction or
    /// exponent, a float otherwise, computed as serde_json computes it.
    fn number(&mut self, level: usize) -> Step {
        let start = self.at;
        let negative = self.eat(b'-');
        let mut significand: u64 = 0;
        let mut digits = 0;
        match self.peek() {
            Some(b'0') => {
                self.at += 1;
                digits = 1;
            }
            Some(b'1'..=b'9') => self.digits(&mut significand, &mut digits)?,
            _ => return Err(Unsure),
        }
        let integer_digits = digits;
        if self.eat(b'.') {
            self.digits(&mut significand, &mut digits)?;
            if digits == integer_digits {
                return Err(Unsure);
            }
        }
        let mut exponent = -((digits - integer_digits) as i32);
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            exponent += self.exponent()?;
        }
        // serde_json refuses a digit after a leading zero; so does this, and
        // any other byte glued to a number is refused by whoever reads next.
        let number = if self.at - start == usize::from(negative) + integer_digits as usize {
            match (negative, significand) {
                (false, n) => Number::PosInt(n),
                // `-0` is the float -0.0 for serde_json.
                (true, 0) => Number::Float(-0.0),
                (true, n) => Number::NegInt(-(n as i64)),
            }
        } else {
            if exponent.abs() > MAX_EXPONENT {
                return Err(Unsure);
            }
            let power = POWERS_OF_TEN[exponent.unsigned_abs() as usize];
            let magnitude = if exponent >= 0 {
                significand as f64 * power
            } else {
                significand as f64 / power
            };
            Number::Float(if negative { -magnitude } else { magnitude })
        };
        self.stats.add(Kind::Number(number), level);
        // Integers read as serde_json writes them (no leading zeros, and `-0`
        // is a float); a float often does too (`1.5`, not `1.50` or `15e-1`).
        if let Number::Float(x) = number {
            let mut buffer = zmij::Buffer::new();
            let canonical = writer::float_text(&mut buffer, x);
            if canonical != &self.text[start..self.at] {
                self.rewrite(start, |out| out.extend_from_slice(canonical));
            }
        }
        Ok(())
    }

    /// Decimal digits (at least one), added to `significand` and counted.
    fn digits(&mut self, significand: &mut u64, count: &mut u32) -> Step {
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            *count += 1;
            if *count > MAX_DIGITS {
                return Err(Unsure);
            }
            *significand = *significand * 10 + u64::from(digit - b'0');
            self.at += 1;
        }
        Ok(())
    }

    /// The exponent after `e`: a sign, then 1 to 3 digits.
    fn exponent(&mut self) -> Step<i32> {
        let negative = self.eat(b'-');
        if !negative {
            self.eat(b'+');
        }
        let start = self.at;
        let mut value = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            if self.at - start == 3 {
                return Err(Unsure);
            }
            value = value * 10 + i32::from(digit - b'0');
            self.at += 1;
        }
        match self.at - start {
            0 => Err(Unsure),
            _ if negative => Ok(-value),
            _ => Ok(value),
        }
    }

    /// Where in the output the value that `read` reads lands.
    fn written(&mut self, read: impl FnOnce(&mut Self) -> Step) -> Step<Range<usize>> {
        let start = self.position();
        read(self)?;
        Ok(start..self.position())
    }

    /// Where in the output what is read next will land.
    fn position(&self) -> usize {
        self.out.len() + (self.at - self.copied)
    }

    /// Appends the pending bytes.
    fn flush(&mut self) {
        self.out.extend_from_slice(&self.text[self.copied..self.at]);
        self.copied = self.at;
    }

    /// Writes `text[start..at]`, just read, with `write` instead.
    fn rewrite(&mut self, start: usize, write: impl FnOnce(&mut Vec<u8>)) {
        self.out.extend_from_slice(&self.text[self.copied..start]);
        write(self.out);
        self.copied = self.at;
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// JSON's whitespace, and nothing else (serde_json's too); it is not
    /// written.
    #[inline]
    fn skip_whitespace(&mut self) {
        if matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.drop_whitespace();
        }
    }

    #[cold]
    fn drop_whitespace(&mut self) {
        let start = self.at;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
        self.rewrite(start, |_| {});
    }
}

/// 10⁰ to 10²², all exact as `f64`; serde_json's table holds the same values.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A key's length, second byte and last but one byte (its quotes aside,
/// the first and last of its own): cheaper than a hash, and as good for the
/// few keys of an object.
fn fingerprint(key: &[u8]) -> u64 {
    let byte = |at: usize| u64::from(key.get(at).copied().unwrap_or(0));
    ((key.len() as u64) << 16) | (byte(1) << 8) | byte(key.len().wrapping_sub(2))
}

/// The length of the plain characters that `text` starts with, up to the
/// first quote, backslash or control character (which end a run in a
/// string); `None` if there is none.
///
/// Eight bytes at a time, as strings are short and their end would otherwise
/// be a branch mispredicted at every string: for each word, the classic bit
/// tricks flag the bytes equal to `"` or `\` or below 0x20. A flagged byte
/// can be wrong only above a rightly flagged one, so the lowest is right.
fn plain_run(text: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut words = text.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let flags = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
        if flags != 0 {
            return Some(done + flags.trailing_zeros() as usize / 8);
        }
        done += 8;
    }
    let tail = words
        .remainder()
        .iter()
        .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20);
    tail.map(|at| done + at)
}
