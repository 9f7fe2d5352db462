//! Single-threaded analysis throughput on a large PrusaSlicer file, against OctoPrint's own
//! analysis (`octoprint analysis gcode`) on the same file in the same run.
//!
//! `cargo bench -p gcode --bench throughput` — builds a ≥ 40 MB file by concatenating the
//! PrusaSlicer corpus (`tests/corpus/*.gcode`), analyses it with the full motion model, then runs
//! OctoPrint from the virtual environment `scripts/octoprint ensure` sets up (installing it from
//! PyPI the first time). Set `FARMHAND_BENCH_SKIP_OCTOPRINT=1` to time Farmhand alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TARGET_BYTES: u64 = 48_000_000;
const RUNS: usize = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let big = build_large_file(crate_dir)?;
    let size = std::fs::metadata(&big)?.len();
    println!("file: {} ({:.1} MB)", big.display(), size as f64 / 1e6);

    let profile = gcode::Profile::default();
    let mut times = Vec::with_capacity(RUNS);
    let mut estimate = 0.0;
    for _ in 0..RUNS {
        let file = std::fs::File::open(&big)?;
        let start = Instant::now();
        let analysis = gcode::analyze_read(file, &profile)?;
        times.push(start.elapsed());
        estimate = analysis.estimated_time_s;
    }
    times.sort();
    let median = times[RUNS / 2];
    let best = times[0];
    let mbps = |d: Duration| size as f64 / d.as_secs_f64() / 1e6;
    println!(
        "farmhand: median {:.3} s ({:.0} MB/s), best {:.3} s ({:.0} MB/s), estimate {:.0} s",
        median.as_secs_f64(),
        mbps(median),
        best.as_secs_f64(),
        mbps(best),
        estimate
    );

    if std::env::var_os("FARMHAND_BENCH_SKIP_OCTOPRINT").is_some() {
        return Ok(());
    }
    let script = crate_dir.join("../../scripts/octoprint");
    // Installs OctoPrint the first time, and warms the interpreter's caches, untimed.
    let status = Command::new(&script)
        .arg("ensure")
        .stdout(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err("scripts/octoprint ensure failed".into());
    }
    let tiny = big.with_file_name("tiny.gcode");
    std::fs::write(&tiny, "G28\nG1 X10 Y10 E1 F1200\n")?;
    // Start-up: the faster of two runs on a two-line file.
    let startup = time_octoprint(&script, &tiny)?
        .wall
        .min(time_octoprint(&script, &tiny)?.wall);
    let octoprint = time_octoprint(&script, &big)?;
    println!(
        "octoprint analysis gcode: {:.1} s wall ({:.1} MB/s), of which {:.2} s start-up (a 2-line file); it reports {:.1} s of analysis",
        octoprint.wall.as_secs_f64(),
        mbps(octoprint.wall),
        startup.as_secs_f64(),
        octoprint.reported.as_secs_f64(),
    );
    println!(
        "ratio: farmhand is {:.0}x faster than OctoPrint ({:.0}x against the analysis time OctoPrint reports)",
        octoprint.wall.as_secs_f64() / median.as_secs_f64(),
        octoprint.reported.as_secs_f64() / median.as_secs_f64()
    );
    Ok(())
}

/// Concatenates the corpus until the file is at least [`TARGET_BYTES`]; kept between runs.
fn build_large_file(crate_dir: &Path) -> std::io::Result<PathBuf> {
    let out_dir = crate_dir.join("../../target/gcode-bench");
    std::fs::create_dir_all(&out_dir)?;
    let big = out_dir.join("prusaslicer-large.gcode");
    if std::fs::metadata(&big).is_ok_and(|m| m.len() >= TARGET_BYTES) {
        return Ok(big);
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(crate_dir.join("tests/corpus"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "gcode"))
        .collect();
    parts.sort();
    let mut data = Vec::new();
    while (data.len() as u64) < TARGET_BYTES {
        for part in &parts {
            data.extend_from_slice(&std::fs::read(part)?);
        }
    }
    std::fs::write(&big, data)?;
    Ok(big)
}

/// One run of OctoPrint's analysis: wall time, and the analysis time it reports itself
/// (its `DONE:<seconds>s` line, which leaves out the interpreter's start-up).
struct OctoPrintRun {
    wall: Duration,
    reported: Duration,
}

fn time_octoprint(script: &Path, file: &Path) -> Result<OctoPrintRun, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let out = Command::new(script).arg("analyze").arg(file).output()?;
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "OctoPrint's analysis failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reported = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("DONE:")?
                .strip_suffix('s')?
                .parse::<f64>()
                .ok()
        })
        .ok_or_else(|| format!("no DONE:<seconds>s line in OctoPrint's output: {stdout}"))?;
    Ok(OctoPrintRun {
        wall,
        reported: Duration::from_secs_f64(reported),
    })
}
