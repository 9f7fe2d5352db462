//! Fuzz target `lines`: the result must not depend on how the input arrives.
//!
//! A network upload or a pipe hands the analyzer its bytes in arbitrary pieces, so `LineReader`
//! has to join lines across reads (including a `\r\n` split between two reads) and retry
//! `Interrupted` errors. Here the same bytes are read once as a whole slice and once through a
//! reader that returns 1..=7 bytes per call (and sometimes `Interrupted`), at points the fuzzer
//! picks, with `next_line` and with `for_each_line`. The lines, and therefore the analyses, must
//! be identical. The comparison is exact: identical lines reach the same deterministic analyzer,
//! so even float sums match bit for bit.
//!
//! Input layout: byte 0 picks the line cap, byte 1 the length `n` (1..=16) of the read schedule,
//! the next `n` bytes are the schedule (each byte % 8 is one read's size, 0 meaning
//! `Interrupted`), the rest is the G-code.
#![no_main]

use std::io::{self, BufReader, Read};

use gcode::{Analyzer, Profile, lexer::LineReader};
use libfuzzer_sys::fuzz_target;

/// A reader that returns short reads (and `Interrupted`) following a repeating schedule.
struct ShortReads<'a> {
    data: &'a [u8],
    schedule: &'a [u8],
    call: usize,
}

impl Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let step = self.schedule[self.call % self.schedule.len()] % 8;
        self.call += 1;
        if self.data.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        if step == 0 {
            // Only `Ok(0)` means end of input; `Interrupted` must be retried by the caller.
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = usize::from(step).min(self.data.len()).min(buf.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Reads every line with `next_line`, analysing them, so both the lines and the analysis can be
/// compared.
fn run<R: io::BufRead>(reader: R, profile: &Profile) -> (Vec<(Vec<u8>, bool)>, gcode::Analysis) {
    let mut lines = LineReader::new(reader, profile.max_line_length);
    let mut analyzer = Analyzer::new(profile);
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().expect("the readers here never fail") {
        analyzer.push_line(line.bytes, line.truncated);
        seen.push((line.bytes.to_vec(), line.truncated));
    }
    (seen, analyzer.finish())
}

/// The same with `for_each_line` (what `gcode::analyze` uses).
fn run_each<R: io::BufRead>(
    reader: R,
    profile: &Profile,
) -> (Vec<(Vec<u8>, bool)>, gcode::Analysis) {
    let mut lines = LineReader::new(reader, profile.max_line_length);
    let mut analyzer = Analyzer::new(profile);
    let mut seen = Vec::new();
    lines
        .for_each_line(|bytes, truncated| {
            analyzer.push_line(bytes, truncated);
            seen.push((bytes.to_vec(), truncated));
        })
        .expect("the readers here never fail");
    (seen, analyzer.finish())
}

fuzz_target!(|data: &[u8]| {
    let [cap, n, rest @ ..] = data else { return };
    let n = usize::from(n % 16) + 1;
    if rest.len() < n {
        return;
    }
    let (schedule, gcode) = rest.split_at(n);
    // A schedule of only `Interrupted` would never make progress; real readers do.
    if schedule.iter().all(|b| b % 8 == 0) {
        return;
    }
    let profile = Profile {
        // Tiny caps put the truncation point inside a read, at a read boundary, or at `\r`.
        max_line_length: match cap % 4 {
            0 => 1,
            1 => 7,
            2 => 16,
            _ => Profile::default().max_line_length,
        },
        ..Profile::default()
    };

    let (whole_lines, whole) = run(gcode, &profile);
    // `BufReader::fill_buf` hands on exactly what one inner read returned (its buffer is larger
    // than any read), so `LineReader` sees the schedule's pieces, and `Interrupted` is passed
    // through to it to retry.
    let short = ShortReads {
        data: gcode,
        schedule,
        call: 0,
    };
    let (short_lines, pieces) = run(BufReader::with_capacity(16, short), &profile);
    let short = ShortReads {
        data: gcode,
        schedule,
        call: 0,
    };
    let (each_lines, each) = run_each(BufReader::with_capacity(16, short), &profile);

    assert_eq!(whole_lines, short_lines, "lines differ when read in pieces");
    assert_eq!(
        whole_lines, each_lines,
        "for_each_line differs from next_line"
    );
    assert_eq!(whole, each, "analysis differs with for_each_line");
    // `Analysis` holds floats; a NaN would make this fail too, which is a finding as well (they
    // must be finite). `assert_eq!` prints both sides, for a readable report.
    assert_eq!(whole, pieces, "analysis differs when read in pieces");
    // And the public one-call API gives the same as driving `Analyzer` by hand.
    let api = gcode::analyze(gcode, &profile).expect("a byte slice cannot fail");
    assert_eq!(
        whole, api,
        "gcode::analyze differs from Analyzer driven by hand"
    );
});
