//! Accuracy against PrusaSlicer's own estimate on the committed corpus (`tests/corpus/*.gcode`,
//! sliced by `tests/corpus/make.py` with PrusaSlicer 2.5 in Marlin flavours, machine limits emitted
//! into each file). PrusaSlicer's "normal mode" figure models moves only, so it is compared with
//! our move time plus dwells; heating waits are reported separately by both.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus directory exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "gcode"))
        .collect();
    files.sort();
    files
}

fn analyze(path: &Path) -> gcode::Analysis {
    let file = std::fs::File::open(path).expect("a corpus file opens");
    gcode::analyze_read(file, &gcode::Profile::default()).expect("a corpus file reads")
}

/// Net extrusion written in the file, summed by the simplest possible reading of it: an
/// independent check on the analyzer's filament figure.
fn sum_of_extrusion(path: &Path) -> f64 {
    let text = std::fs::read_to_string(path).expect("a corpus file is UTF-8");
    let (mut relative, mut e, mut total) = (false, 0.0_f64, 0.0_f64);
    for line in text.lines() {
        let code = line.split(';').next().unwrap_or("").trim();
        let mut words = code.split_whitespace();
        let Some(command) = words.next() else {
            continue;
        };
        let e_word = words
            .find_map(|w| w.strip_prefix('E'))
            .map(|v| v.parse::<f64>().expect("E is a number"));
        match command {
            "M82" => relative = false,
            "M83" => relative = true,
            "G92" => {
                if let Some(v) = e_word {
                    e = v;
                }
            }
            "G0" | "G1" => {
                if let Some(v) = e_word {
                    let delta = if relative { v } else { v - e };
                    total += delta;
                    e = if relative { e + v } else { v };
                }
            }
            _ => {}
        }
    }
    total
}

#[test]
fn time_is_within_five_percent_everywhere_and_two_on_the_median() {
    let files = corpus();
    assert!(
        files.len() >= 8,
        "the corpus has {} files, needs at least 8",
        files.len()
    );
    let mut errors = Vec::new();
    for path in &files {
        let a = analyze(path);
        let theirs = a
            .metadata
            .estimated_time_s
            .expect("PrusaSlicer states its estimate");
        let ours = a.move_time_s + a.dwell_time_s;
        let error = (ours - theirs) / theirs;
        println!(
            "{:<24} ours {:>8.1} s  PrusaSlicer {:>6.0} s  {:+6.2}%",
            path.file_stem().and_then(|s| s.to_str()).unwrap_or("?"),
            ours,
            theirs,
            error * 100.0
        );
        errors.push(error);
    }
    let mut magnitudes: Vec<f64> = errors.iter().map(|e| e.abs()).collect();
    magnitudes.sort_by(f64::total_cmp);
    let median = if magnitudes.len() % 2 == 1 {
        magnitudes[magnitudes.len() / 2]
    } else {
        (magnitudes[magnitudes.len() / 2 - 1] + magnitudes[magnitudes.len() / 2]) / 2.0
    };
    let worst = magnitudes.last().copied().unwrap_or(0.0);
    println!(
        "median |error| {:.2}%, worst {:.2}%",
        median * 100.0,
        worst * 100.0
    );
    assert!(worst <= 0.05, "worst file is off by {:.2}%", worst * 100.0);
    assert!(
        median <= 0.02,
        "median file is off by {:.2}%",
        median * 100.0
    );
}

#[test]
fn filament_equals_the_sum_of_extrusion() {
    for path in corpus() {
        let a = analyze(&path);
        let expected = sum_of_extrusion(&path);
        let relative = (a.filament_length_mm - expected).abs() / expected;
        assert!(
            relative <= 1e-4,
            "{}: {} mm vs {} mm written",
            path.display(),
            a.filament_length_mm,
            expected
        );
    }
}
