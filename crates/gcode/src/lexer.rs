//! Line splitting and tokenizing. Works on bytes (invalid UTF-8 is fine) and never panics.

use std::io::{self, BufRead};

/// Numbers whose magnitude is above this are treated as invalid words (nobody moves 1e9 mm).
pub const MAX_ABS_VALUE: f64 = 1.0e9;

/// Splits a byte stream into lines on `\n`, `\r\n` or a lone `\r`. Lines longer than `max_len`
/// are truncated (the rest is skipped) and flagged, so memory stays bounded.
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max_len: usize,
    skip_lf: bool,
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
        }
    }

    /// Returns the next line without its terminator, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        self.buf.clear();
        let mut started = false;
        let mut truncated = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
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
            match avail.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(i) => {
                    let room = self.max_len.saturating_sub(self.buf.len());
                    truncated |= i > room;
                    self.buf.extend_from_slice(&avail[..i.min(room)]);
                    if avail[i] == b'\r' {
                        self.skip_lf = true;
                    }
                    self.inner.consume(i + 1);
                    break;
                }
                None => {
                    let n = avail.len();
                    let room = self.max_len.saturating_sub(self.buf.len());
                    truncated |= n > room;
                    self.buf.extend_from_slice(&avail[..n.min(room)]);
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
    fn empty() -> Self {
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

/// Parses `[+-]digits[.digits]` with at most 15 significant digits exactly (the mantissa fits in
/// an `f64` and one correctly rounded division by an exact power of ten gives the same result as
/// `str::parse`). Anything else (more digits, two dots) returns `None` for the slow path.
fn fast_decimal(text: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut significant = 0usize;
    let mut frac_digits = 0usize;
    let mut seen_dot = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                if mantissa == 0 && b == b'0' {
                    // Leading zeros do not count as significant.
                } else {
                    significant += 1;
                }
                if significant > 15 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(b - b'0');
                if seen_dot {
                    frac_digits += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    let scale = *POW10.get(frac_digits)?;
    // mantissa < 10^15 < 2^53: exact in f64.
    let v = mantissa as f64 / scale;
    Some(if negative { -v } else { v })
}

/// Tokenizes one line. Never panics, whatever the bytes.
pub fn parse_line(bytes: &[u8]) -> Line<'_> {
    let mut line = Line::empty();
    let (code_part, comment) = match bytes.iter().position(|&b| b == b';') {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    };
    line.comment = comment;
    // A checksum ends the command part.
    let code_part = match code_part.iter().position(|&b| b == b'*') {
        Some(i) => &code_part[..i],
        None => code_part,
    };

    let mut i = 0;
    let mut first_word = true;
    let n = code_part.len();
    while i < n {
        let b = code_part[i];
        if b.is_ascii_whitespace() || b == 0 {
            i += 1;
            continue;
        }
        if b == b'(' {
            // Parenthesized comment: skip to the closing parenthesis (or the end of the line).
            match code_part[i..].iter().position(|&c| c == b')') {
                Some(j) => i += j + 1,
                None => i = n,
            }
            continue;
        }
        if b == b'"' {
            // Quoted string argument (`M862.3 P "MK3S"`, `M486 A"part"`): skipped.
            match code_part[i + 1..].iter().position(|&c| c == b'"') {
                Some(j) => i += j + 2,
                None => i = n,
            }
            continue;
        }
        if !b.is_ascii_alphabetic() {
            line.issues.push(LexIssue::UnexpectedByte { byte: b });
            // Skip to the next whitespace.
            while i < n && !code_part[i].is_ascii_whitespace() {
                i += 1;
            }
            continue;
        }
        let letter = b.to_ascii_uppercase();
        // Extended command: the first word is two or more letters/underscores (`SET_VELOCITY_LIMIT`).
        if first_word
            && i + 1 < n
            && (code_part[i + 1].is_ascii_alphabetic() || code_part[i + 1] == b'_')
        {
            let end = code_part[i..]
                .iter()
                .position(|c| c.is_ascii_whitespace())
                .map_or(n, |j| i + j);
            line.extended = Some(&code_part[i..end]);
            line.extended_args = &code_part[end..];
            return line;
        }
        i += 1;
        let start = i;
        let mut seen_digit = false;
        if i < n && (code_part[i] == b'-' || code_part[i] == b'+') {
            i += 1;
        }
        while i < n && (code_part[i].is_ascii_digit() || code_part[i] == b'.') {
            seen_digit |= code_part[i].is_ascii_digit();
            i += 1;
        }
        if !seen_digit && i < n && code_part[i].is_ascii_alphabetic() {
            // `Xnan`, `Yinf`, `Xabc`: letters where a number should be.
            line.issues.push(LexIssue::InvalidNumber {
                letter: char::from(letter),
            });
            while i < n && code_part[i].is_ascii_alphanumeric() {
                i += 1;
            }
            first_word = false;
            continue;
        }
        let text = &code_part[start..i];
        let value: Option<f64> = if seen_digit {
            // The slice holds only ASCII sign/digits/dots, so from_utf8 cannot fail; on the
            // off chance, treat it as invalid.
            fast_decimal(text).or_else(|| {
                std::str::from_utf8(text)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
            })
        } else {
            None
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
                            return line;
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
    line
}

#[cfg(test)]
mod tests {
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
    fn fast_decimal_matches_std_parse() {
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
            "0.000000000000001",
            "199.999",
            "-42.4242",
            "0.1",
            "0.7",
            "1.1",
        ] {
            let want: f64 = t.parse().unwrap();
            assert_eq!(fast_decimal(t.as_bytes()), Some(want), "{t}");
        }
        assert_eq!(fast_decimal(b"1234567890123456"), None);
        assert_eq!(fast_decimal(b"0.0000000000000001"), None);
        assert_eq!(fast_decimal(b"1.2.3"), None);
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
