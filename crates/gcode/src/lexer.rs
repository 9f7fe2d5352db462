//! Line splitting and tokenizing. Works on bytes (invalid UTF-8 is fine) and never panics.

use std::io::{self, BufRead};

/// Numbers whose magnitude is above this are treated as invalid words (nobody moves 1e9 mm).
pub const MAX_ABS_VALUE: f64 = 1.0e9;

/// Splits a byte stream into lines on `\n`, `\r\n` or a lone `\r`. Lines longer than `max_len`
/// are truncated (the rest is skipped) and flagged, so memory stays bounded.
pub struct LineReader<R> {
    inner: R,
    /// Lines that cross the reader's buffer boundary are assembled here.
    buf: Vec<u8>,
    max_len: usize,
    skip_lf: bool,
    /// Bytes of the reader's buffer handed out as the last line, consumed on the next call.
    pending: usize,
}

/// `fill_buf`, retried when a read was interrupted.
fn fill_retrying<R: BufRead>(inner: &mut R) -> io::Result<&[u8]> {
    loop {
        match inner.fill_buf() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Read again: returning the first call's borrow from inside the loop would keep
            // `inner` borrowed for the next iteration too.
            Ok(_) => return inner.fill_buf(),
            Err(e) => return Err(e),
        }
    }
}

/// Appends what fits of `piece` to the line being assembled in `buf`, at most `max_len` bytes
/// in all; true when some of it did not fit.
fn append_capped(buf: &mut Vec<u8>, piece: &[u8], max_len: usize) -> bool {
    let room = max_len.saturating_sub(buf.len());
    buf.extend_from_slice(&piece[..piece.len().min(room)]);
    piece.len() > room
}

/// One line handed out by [`LineReader::next_line`].
pub struct RawLine<'a> {
    pub bytes: &'a [u8],
    /// True when the line was longer than the cap and was cut.
    pub truncated: bool,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_len: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            max_len: max_len.max(1),
            skip_lf: false,
            pending: 0,
        }
    }

    /// Returns the next line without its terminator, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.pending = 0;
        }
        self.buf.clear();
        // Fast path: the whole line is in the reader's buffer; hand it out without copying.
        loop {
            let avail = fill_retrying(&mut self.inner)?;
            if avail.is_empty() {
                return Ok(None);
            }
            if self.skip_lf {
                self.skip_lf = false;
                if avail[0] == b'\n' {
                    self.inner.consume(1);
                    continue;
                }
            }
            break;
        }
        // The buffer is filled already: `fill_buf` returns it again without reading.
        let end = {
            let avail = self.inner.fill_buf()?;
            memchr::memchr2(b'\n', b'\r', avail)
                .filter(|&i| i <= self.max_len)
                .map(|i| (i, avail[i] == b'\r'))
        };
        let Some((i, cr)) = end else {
            return self.next_line_slow();
        };
        self.skip_lf = cr;
        self.pending = i + 1;
        let avail = self.inner.fill_buf()?;
        Ok(Some(RawLine {
            bytes: avail.get(..i).unwrap_or_default(),
            truncated: false,
        }))
    }

    /// Calls `f` with every remaining line (without its terminator) and whether it was cut at
    /// the cap, to the end of input. Gives the same lines as [`Self::next_line`], faster: the
    /// terminators of a whole read are found in one pass, and only a line that spans two reads
    /// is copied.
    pub fn for_each_line(&mut self, mut f: impl FnMut(&[u8], bool)) -> io::Result<()> {
        if self.pending > 0 {
            self.inner.consume(self.pending);
            self.pending = 0;
        }
        self.buf.clear();
        // A line begun in an earlier read is being assembled in `buf`.
        let mut carrying = false;
        let mut carry_truncated = false;
        loop {
            let avail = fill_retrying(&mut self.inner)?;
            if avail.is_empty() {
                if carrying {
                    f(&self.buf, carry_truncated);
                }
                return Ok(());
            }
            let mut start = 0;
            if std::mem::take(&mut self.skip_lf) && avail[0] == b'\n' {
                start = 1;
            }
            let mut after_cr = false;
            for i in memchr::memchr2_iter(b'\n', b'\r', avail) {
                if i < start {
                    continue;
                }
                let cr = avail[i] == b'\r';
                if i == start && after_cr && !cr {
                    // The `\n` of a `\r\n`.
                    start = i + 1;
                    after_cr = false;
                    continue;
                }
                let piece = &avail[start..i];
                if carrying {
                    carry_truncated |= append_capped(&mut self.buf, piece, self.max_len);
                    f(&self.buf, carry_truncated);
                    self.buf.clear();
                    carrying = false;
                    carry_truncated = false;
                } else if piece.len() > self.max_len {
                    f(&piece[..self.max_len], true);
                } else {
                    f(piece, false);
                }
                after_cr = cr;
                start = i + 1;
            }
            let len = avail.len();
            if start < len {
                let piece = &avail[start..];
                carry_truncated |= append_capped(&mut self.buf, piece, self.max_len);
                carrying = true;
            } else {
                // A `\r` at the very end: its `\n` may start the next read.
                self.skip_lf = after_cr;
            }
            self.inner.consume(len);
        }
    }

    /// A line that crosses the reader's buffer boundary, or is longer than the cap: copied.
    fn next_line_slow(&mut self) -> io::Result<Option<RawLine<'_>>> {
        let mut started = false;
        let mut truncated = false;
        loop {
            let avail = fill_retrying(&mut self.inner)?;
            if avail.is_empty() {
                if started {
                    break;
                }
                return Ok(None);
            }
            if self.skip_lf {
                self.skip_lf = false;
                if avail[0] == b'\n' {
                    self.inner.consume(1);
                    continue;
                }
            }
            started = true;
            match memchr::memchr2(b'\n', b'\r', avail) {
                Some(i) => {
                    truncated |= append_capped(&mut self.buf, &avail[..i], self.max_len);
                    if avail[i] == b'\r' {
                        self.skip_lf = true;
                    }
                    self.inner.consume(i + 1);
                    break;
                }
                None => {
                    let n = avail.len();
                    truncated |= append_capped(&mut self.buf, avail, self.max_len);
                    self.inner.consume(n);
                }
            }
        }
        Ok(Some(RawLine {
            bytes: &self.buf,
            truncated,
        }))
    }
}

/// A command word: letter (`G`, `M`, `T`), number and optional sub-code (`G29.1` → 29, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code {
    pub letter: u8,
    pub number: u32,
    pub sub: Option<u8>,
}

/// Problems found while tokenizing a line. The caller turns them into warnings.
#[derive(Debug, Clone, PartialEq)]
pub enum LexIssue {
    /// A number that is NaN, infinite or absurdly large.
    InvalidNumber { letter: char },
    /// A byte that cannot start a word.
    UnexpectedByte { byte: u8 },
    /// A command letter without a usable number (`G`, `Mx`).
    BadCommand { letter: char },
    /// A second command word on the same line (ignored).
    ExtraCommand { letter: char },
}

/// A tokenized line. Parameters are indexed by letter (`A`..=`Z`); a parameter given without a
/// value (`G28 X`) is present with `None`.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub code: Option<Code>,
    /// An extended (Klipper-style) command such as `SET_VELOCITY_LIMIT`.
    pub extended: Option<&'a [u8]>,
    /// What follows an extended command's name (`ACCEL=3000 SQUARE_CORNER_VELOCITY=5`).
    pub extended_args: &'a [u8],
    values: [f64; 26],
    /// Bit per letter: the parameter occurs.
    present: u32,
    /// Bit per letter: the parameter has a valid value in `values`.
    valid: u32,
    /// The comment text after `;`, if any (without the `;`).
    pub comment: Option<&'a [u8]>,
    pub issues: Vec<LexIssue>,
}

impl<'a> Line<'a> {
    /// A line with nothing in it, to parse into.
    pub fn empty() -> Self {
        Self {
            code: None,
            extended: None,
            extended_args: &[],
            values: [0.0; 26],
            present: 0,
            valid: 0,
            comment: None,
            issues: Vec::new(),
        }
    }

    /// Whether the parameter letter occurs at all.
    pub fn has(&self, letter: u8) -> bool {
        idx(letter).is_some_and(|i| self.present & (1 << i) != 0)
    }

    /// The parameter's value, if present with a valid number.
    pub fn get(&self, letter: u8) -> Option<f64> {
        let i = idx(letter)?;
        (self.valid & (1 << i) != 0).then(|| self.values[i])
    }

    /// The number given to an extended command's `KEY=value` parameter (key case-insensitive).
    /// `None` when absent or not a finite number.
    pub fn extended_param(&self, key: &[u8]) -> Option<f64> {
        self.extended_args
            .split(|b| b.is_ascii_whitespace())
            .filter_map(|word| {
                let eq = word.iter().position(|&b| b == b'=')?;
                word[..eq]
                    .eq_ignore_ascii_case(key)
                    .then(|| &word[eq + 1..])
            })
            .next_back()
            .and_then(|value| std::str::from_utf8(value).ok()?.parse::<f64>().ok())
            .filter(|v| v.is_finite() && v.abs() <= MAX_ABS_VALUE)
    }

    /// True when no parameter is present.
    pub fn no_params(&self) -> bool {
        self.present == 0
    }
}

fn idx(letter: u8) -> Option<usize> {
    let l = letter.to_ascii_uppercase();
    l.is_ascii_uppercase().then(|| usize::from(l - b'A'))
}

/// Commands whose arguments are free text, not words (`M115 U3.13.2` is a firmware version).
fn takes_text(code: &Code) -> bool {
    code.letter == b'M' && matches!(code.number, 23 | 28 | 30 | 32 | 33 | 115 | 117 | 118 | 928)
}

/// A number word's text, read in one pass: `[+-]digits[.digits]`.
struct ScannedNumber {
    /// Index just past the number.
    end: usize,
    seen_digit: bool,
    /// The value when the fast path could read it exactly (see [`scan_number`]).
    fast: Option<f64>,
}

/// `10^-k`, correctly rounded.
const NEG_POW10: [f64; 16] = [
    1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14,
    1e-15,
];

/// Scans digits and dots from `i` and reads them at the same time: with at most 15 digits the
/// mantissa fits in an `f64` exactly, and multiplying it by `10^-k` is within one unit in the
/// last place of `str::parse` (a division would be exact, but its latency costs a fifth of the
/// tokenizer's time, and a 10⁻¹⁶ relative difference moves no printer). Anything else (more
/// digits, two dots) leaves `fast` empty for the slow path.
#[inline]
fn scan_number(bytes: &[u8], mut i: usize) -> ScannedNumber {
    let n = bytes.len();
    let mut negative = false;
    if i < n && (bytes[i] == b'-' || bytes[i] == b'+') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    // Integer part, then fractional part: one multiply-add per digit. The mantissa may wrap
    // with more than 19 digits; such numbers take the slow path anyway.
    let mut mantissa: u64 = 0;
    let int_start = i;
    while i < n && bytes[i].wrapping_sub(b'0') < 10 {
        mantissa = mantissa
            .wrapping_mul(10)
            .wrapping_add(u64::from(bytes[i] - b'0'));
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    let mut exact = true;
    let mut extra_digit = false;
    if i < n && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < n && bytes[i].wrapping_sub(b'0') < 10 {
            mantissa = mantissa
                .wrapping_mul(10)
                .wrapping_add(u64::from(bytes[i] - b'0'));
            i += 1;
        }
        frac_digits = i - frac_start;
        // A second dot (`1.2.3`): not a number we read fast; skip the rest of the run.
        while i < n && (bytes[i] == b'.' || bytes[i].is_ascii_digit()) {
            exact = false;
            extra_digit |= bytes[i].is_ascii_digit();
            i += 1;
        }
    }
    let seen_digit = int_digits + frac_digits > 0 || extra_digit;
    let fast = if exact && seen_digit && int_digits + frac_digits <= 15 {
        // mantissa < 10^15 < 2^53: exact in f64; frac_digits <= 15 indexes NEG_POW10.
        // Through i64: a signed conversion is one instruction, an unsigned one several.
        let v = mantissa as i64 as f64 * NEG_POW10[frac_digits];
        Some(if negative { -v } else { v })
    } else {
        None
    };
    ScannedNumber {
        end: i,
        seen_digit,
        fast,
    }
}

/// Index of the first `;` or `*` at or after `from` (where the command part ends), or the end.
fn command_end(bytes: &[u8], from: usize) -> usize {
    let rest = bytes.get(from..).unwrap_or_default();
    memchr::memchr2(b';', b'*', rest).map_or(bytes.len(), |j| from + j)
}

/// The comment: what follows the first `;` at or after `from`.
fn comment_after(bytes: &[u8], from: usize) -> Option<&[u8]> {
    let rest = bytes.get(from..)?;
    memchr::memchr(b';', rest).map(|j| &rest[j + 1..])
}

/// Skips a `(...)` comment or a `"..."` string opened at `i`: returns the index after the
/// closing byte, or where the command part ends if it is not closed before.
fn skip_enclosed(bytes: &[u8], i: usize, close: u8) -> usize {
    let end = command_end(bytes, i + 1);
    match bytes[i + 1..end].iter().position(|&c| c == close) {
        Some(j) => i + 1 + j + 1,
        None => end,
    }
}

/// The fast path for the lines that make up nearly all of a sliced file: `G0`/`G1` followed by
/// parameter words with plain numbers, maybe a comment. Returns false, with `line` left in an
/// unspecified state, as soon as anything else turns up; the general path then reads the line
/// from scratch, so both paths give the same result.
#[inline]
fn parse_plain_move<'a>(bytes: &'a [u8], line: &mut Line<'a>) -> bool {
    let n = bytes.len();
    let number = match bytes {
        [b'G' | b'g', digit @ (b'0' | b'1'), b' ' | b'\t', ..] => u32::from(digit - b'0'),
        _ => return false,
    };
    line.code = Some(Code {
        letter: b'G',
        number,
        sub: None,
    });
    let mut i = 3;
    while i < n {
        let b = bytes[i];
        if b == b' ' || b == b'\t' {
            i += 1;
            continue;
        }
        if b == b';' {
            line.comment = Some(&bytes[i + 1..]);
            return true;
        }
        let k = b.to_ascii_uppercase().wrapping_sub(b'A');
        // Letters only, and not the command letters that the general path treats specially.
        if k >= 26 || matches!(k + b'A', b'G' | b'M') {
            return false;
        }
        let scanned = scan_number(bytes, i + 1);
        let Some(v) = scanned.fast.filter(|v| v.abs() <= MAX_ABS_VALUE) else {
            return false;
        };
        let bit = 1u32 << k;
        line.present |= bit;
        line.valid |= bit;
        line.values[usize::from(k)] = v;
        i = scanned.end;
    }
    true
}

/// Tokenizes one line in a single pass. Never panics, whatever the bytes.
///
/// The command part ends at the first `;` (the comment follows) or `*` (a checksum follows).
pub fn parse_line(bytes: &[u8]) -> Line<'_> {
    let mut line = Line::empty();
    parse_into(bytes, &mut line);
    line
}

/// [`parse_line`] into a line the caller made with [`Line::empty`], which saves moving the line
/// out on the hot path.
#[inline]
pub fn parse_into<'a>(bytes: &'a [u8], line: &mut Line<'a>) {
    if !parse_plain_move(bytes, line) {
        *line = Line::empty();
        parse_general(bytes, line);
    }
}

/// Any line, word by word.
fn parse_general<'a>(bytes: &'a [u8], line: &mut Line<'a>) {
    let n = bytes.len();
    let mut i = 0;
    let mut first_word = true;
    while i < n {
        let b = bytes[i];
        match b {
            b';' => {
                line.comment = Some(&bytes[i + 1..]);
                return;
            }
            b'*' => {
                line.comment = comment_after(bytes, i);
                return;
            }
            b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' | 0 => {
                i += 1;
                continue;
            }
            // Parenthesized comment, or a quoted string argument (`M862.3 P "MK3S"`): skipped.
            b'(' => {
                i = skip_enclosed(bytes, i, b')');
                continue;
            }
            b'"' => {
                i = skip_enclosed(bytes, i, b'"');
                continue;
            }
            _ if !b.is_ascii_alphabetic() => {
                line.issues.push(LexIssue::UnexpectedByte { byte: b });
                // Skip to the next whitespace.
                while i < n
                    && !bytes[i].is_ascii_whitespace()
                    && bytes[i] != b';'
                    && bytes[i] != b'*'
                {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let letter = b.to_ascii_uppercase();
        // Extended command: the first word is two or more letters/underscores (`SET_VELOCITY_LIMIT`).
        if first_word && i + 1 < n && (bytes[i + 1].is_ascii_alphabetic() || bytes[i + 1] == b'_') {
            let end = command_end(bytes, i);
            let name_end = bytes[i..end]
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .map_or(end, |j| i + j);
            line.extended = Some(&bytes[i..name_end]);
            line.extended_args = &bytes[name_end..end];
            line.comment = comment_after(bytes, i);
            return;
        }
        let number = scan_number(bytes, i + 1);
        let (start, seen_digit) = (i + 1, number.seen_digit);
        i = number.end;
        if !seen_digit && i < n && bytes[i].is_ascii_alphabetic() {
            // `Xnan`, `Yinf`, `Xabc`: letters where a number should be.
            line.issues.push(LexIssue::InvalidNumber {
                letter: char::from(letter),
            });
            while i < n && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            first_word = false;
            continue;
        }
        let text = &bytes[start..i];
        let value: Option<f64> = match number.fast {
            Some(v) => Some(v),
            // The slice holds only ASCII sign/digits/dots, so from_utf8 cannot fail; on the off
            // chance, treat it as invalid.
            None if seen_digit => std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse::<f64>().ok()),
            None => None,
        };
        let valid = value.filter(|v| v.is_finite() && v.abs() <= MAX_ABS_VALUE);
        if seen_digit && valid.is_none() {
            line.issues.push(LexIssue::InvalidNumber {
                letter: char::from(letter),
            });
        }
        first_word = false;
        match letter {
            b'N' if line.code.is_none() && line.no_params() => {
                // Line number: ignored.
            }
            b'G' | b'M' | b'T' if line.code.is_none() => {
                match valid {
                    Some(v) if v >= 0.0 => {
                        let number = v.trunc();
                        let frac = v - number;
                        let sub = if text.contains(&b'.') {
                            // `G29.1`: the digit after the dot.
                            Some(((frac * 10.0).round() as u8).min(9))
                        } else {
                            None
                        };
                        let code = Code {
                            letter,
                            number: number as u32,
                            sub,
                        };
                        line.code = Some(code);
                        if takes_text(&code) {
                            line.comment = comment_after(bytes, i);
                            return;
                        }
                    }
                    _ if letter == b'T' && !seen_digit => {
                        // `T` alone (or `T?`): not a tool change we understand.
                        line.issues.push(LexIssue::BadCommand { letter: 'T' });
                    }
                    _ => line.issues.push(LexIssue::BadCommand {
                        letter: char::from(letter),
                    }),
                }
            }
            // After the command, `T` is a parameter (`M104 T1 S200`, `M204 T1000`).
            b'G' | b'M' if line.code.is_some() => {
                line.issues.push(LexIssue::ExtraCommand {
                    letter: char::from(letter),
                });
            }
            _ => {
                if let Some(k) = idx(letter) {
                    line.present |= 1 << k;
                    match valid {
                        Some(v) => {
                            line.valid |= 1 << k;
                            line.values[k] = v;
                        }
                        None => line.valid &= !(1 << k),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{Just, TestCaseError};

    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<(Vec<u8>, bool)> {
        let mut r = LineReader::new(input, cap);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.bytes.to_vec(), l.truncated));
        }
        out
    }

    #[test]
    fn splits_lf_crlf_and_lone_cr() {
        let got = lines(b"a\nb\r\nc\rd\r\n\ne", 100);
        let texts: Vec<&[u8]> = got.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(
            texts,
            vec![&b"a"[..], b"b", b"c", b"d", b"", b"e"],
            "{got:?}"
        );
        assert!(lines(b"", 10).is_empty());
        assert_eq!(lines(b"x\n", 10).len(), 1);
    }

    #[test]
    fn crlf_split_across_buffer_boundary() {
        let data = b"G1 X1\r\nG1 X2\r\n".to_vec();
        let reader = std::io::BufReader::with_capacity(6, data.as_slice());
        let mut r = LineReader::new(reader, 100);
        let mut n = 0;
        while let Some(l) = r.next_line().unwrap() {
            assert!(!l.bytes.is_empty());
            n += 1;
        }
        assert_eq!(n, 2);
    }

    #[test]
    fn long_lines_are_capped() {
        let mut data = vec![b'X'; 10_000];
        data.extend_from_slice(b"\nG1\n");
        let reader = std::io::BufReader::with_capacity(64, data.as_slice());
        let mut r = LineReader::new(reader, 100);
        let l = r.next_line().unwrap().unwrap();
        assert_eq!(l.bytes.len(), 100);
        assert!(l.truncated);
        let l = r.next_line().unwrap().unwrap();
        assert_eq!(l.bytes, b"G1");
        assert!(!l.truncated);
    }

    proptest::proptest! {
        /// Whole reads or pieces of any size, `for_each_line` gives exactly the lines that
        /// `next_line` gives.
        #[test]
        fn for_each_line_agrees_with_next_line(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    Just(b'\n'), Just(b'\r'), Just(b'G'), Just(b'1'), Just(b' '), Just(b';')
                ],
                0..200,
            ),
            capacity in 1usize..40,
            cap in 1usize..12,
        ) {
            let mut r = LineReader::new(std::io::BufReader::with_capacity(capacity, &text[..]), cap);
            let mut want = Vec::new();
            while let Some(l) = r.next_line().map_err(|e| TestCaseError::fail(e.to_string()))? {
                want.push((l.bytes.to_vec(), l.truncated));
            }
            let mut r = LineReader::new(std::io::BufReader::with_capacity(capacity, &text[..]), cap);
            let mut got = Vec::new();
            r.for_each_line(|bytes, truncated| got.push((bytes.to_vec(), truncated)))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn words_comments_and_case() {
        let l = parse_line(b"g1x10Y-5.5 e.25 F1200 ; hello");
        assert_eq!(
            l.code,
            Some(Code {
                letter: b'G',
                number: 1,
                sub: None
            })
        );
        assert_eq!(l.get(b'X'), Some(10.0));
        assert_eq!(l.get(b'Y'), Some(-5.5));
        assert_eq!(l.get(b'E'), Some(0.25));
        assert_eq!(l.get(b'F'), Some(1200.0));
        assert_eq!(l.comment, Some(&b" hello"[..]));
        assert!(l.issues.is_empty());
    }

    #[test]
    fn line_numbers_checksums_and_parentheses() {
        let l = parse_line(b"N123 G1 X1*45");
        assert_eq!(l.code.map(|c| c.number), Some(1));
        assert_eq!(l.get(b'X'), Some(1.0));
        assert!(!l.has(b'N'));
        let l = parse_line(b"G1 (move) X2 (to the (left) Y3");
        assert_eq!(l.get(b'X'), Some(2.0));
        // Parenthesized comments do not nest in G-code: the first `)` closes.
        assert!(l.issues.is_empty() || l.get(b'Y').is_none() || l.get(b'Y') == Some(3.0));
    }

    #[test]
    fn invalid_numbers_are_reported() {
        // Like Marlin, `e` is never an exponent: `X1e5` is X1 then E5.
        let l = parse_line(b"G1 X1e5 Y5");
        assert_eq!(l.get(b'X'), Some(1.0));
        assert_eq!(l.get(b'E'), Some(5.0));
        let l = parse_line(b"G1 X12345678901 Y5");
        assert_eq!(l.get(b'X'), None);
        assert!(
            l.issues
                .iter()
                .any(|i| matches!(i, LexIssue::InvalidNumber { .. }))
        );
        let big = format!("G1 X{}", "9".repeat(400));
        let l = parse_line(big.as_bytes());
        assert_eq!(l.get(b'X'), None);
        assert!(l.has(b'X'));
        assert!(!l.issues.is_empty());
        let l = parse_line(b"G1 Xnan Yinf");
        assert_eq!(l.get(b'X'), None);
    }

    #[test]
    fn sub_codes_text_and_extended() {
        let l = parse_line(b"G29.1");
        assert_eq!(l.code.and_then(|c| c.sub), Some(1));
        let l = parse_line(b"M117 X10 done");
        assert_eq!(l.code.map(|c| c.number), Some(117));
        assert!(!l.has(b'X'));
        let l = parse_line(b"SET_VELOCITY_LIMIT ACCEL=500 accel=3000 SQUARE_CORNER_VELOCITY=x");
        assert_eq!(l.extended, Some(&b"SET_VELOCITY_LIMIT"[..]));
        assert_eq!(l.extended_param(b"accel"), Some(3000.0));
        assert_eq!(l.extended_param(b"VELOCITY"), None);
        assert_eq!(l.extended_param(b"SQUARE_CORNER_VELOCITY"), None);
        let l = parse_line(b"T1");
        assert_eq!(l.code.map(|c| (c.letter, c.number)), Some((b'T', 1)));
    }

    #[test]
    fn fast_numbers_are_within_an_ulp_of_std_parse() {
        let fast = |t: &[u8]| {
            let scanned = scan_number(t, 0);
            assert_eq!(scanned.end, t.len());
            scanned.fast
        };
        for t in [
            "0",
            "-0",
            "1",
            "12.5",
            "-0.00125",
            ".5",
            "5.",
            "+3.25",
            "123456789012345",
            "0.00000000000001",
            "199.999",
            "-42.4242",
            "0.1",
            "0.7",
            "1.1",
        ] {
            let want: f64 = t.parse().unwrap();
            let got = fast(t.as_bytes()).unwrap();
            let ulp = if want == 0.0 {
                0.0
            } else {
                f64::EPSILON * want.abs()
            };
            assert!((got - want).abs() <= ulp, "{t}: {got} vs {want}");
        }
        assert_eq!(fast(b"1234567890123456"), None);
        assert_eq!(fast(b"0.0000000000000001"), None);
        assert_eq!(fast(b"1.2.3"), None);
        assert_eq!(fast(b"-"), None);
        let scanned = scan_number(b"..5", 0);
        assert!(scanned.seen_digit && scanned.fast.is_none() && scanned.end == 3);
    }

    fn same(a: &Line<'_>, b: &Line<'_>) -> bool {
        a.code == b.code
            && a.extended == b.extended
            && a.extended_args == b.extended_args
            && a.comment == b.comment
            && a.issues == b.issues
            && a.present == b.present
            && a.valid == b.valid
            && (0..26).all(|k| a.valid & (1 << k) == 0 || a.values[k] == b.values[k])
    }

    proptest::proptest! {
        /// The fast path for plain moves reads every line exactly as the general path does.
        #[test]
        fn plain_move_fast_path_agrees_with_the_general_path(
            text in proptest::prop_oneof![
                // Lines the fast path takes...
                "[Gg][01][ \t]([ \t]{0,2}[XYZEFSTNxyzef][-+]?[0-9]{1,9}([.][0-9]{0,9})?){0,6}[ \t]*(;.*)?",
                // ... and lines it must hand over.
                "[Gg][01][ \t]([ \t]{0,2}[XYZEFxyzefNTGM(*;.]{0,2}[-+]?[0-9]{0,9}[.]?[0-9]{0,9}){0,6}(;.*)?",
            ]
        ) {
            let bytes = text.as_bytes();
            let fast = parse_line(bytes);
            let mut general = Line::empty();
            parse_general(bytes, &mut general);
            proptest::prop_assert!(same(&fast, &general), "{text:?}: {fast:?} vs {general:?}");
        }
    }

    #[test]
    fn quoted_strings_are_skipped() {
        let l = parse_line(br#"M862.3 P "MK3S" ; printer model check"#);
        assert_eq!(l.code.map(|c| (c.number, c.sub)), Some((862, Some(3))));
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        let l = parse_line(br#"M486 S1 A"part X10" T2"#);
        assert_eq!(l.get(b'S'), Some(1.0));
        assert_eq!(l.get(b'X'), None);
        assert_eq!(l.get(b'T'), Some(2.0));
        let l = parse_line(br#"M862.6 P"unterminated"#);
        assert!(l.issues.is_empty());
    }

    #[test]
    fn invalid_utf8_is_fine() {
        let l = parse_line(b"G1 X\xff\xfe Y2 ; \xc3\x28");
        assert_eq!(l.get(b'Y'), Some(2.0));
    }
}
