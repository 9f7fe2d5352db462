//! `farmhand gcode analyze FILE`: the G-code analysis from the command line, with a progress
//! line on a terminal for large files.

use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

/// Counts bytes read and redraws a progress line on stderr at most a few times a second.
struct Progress<R> {
    inner: R,
    read: u64,
    total: u64,
    last_drawn: Instant,
    draw: bool,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.draw && (self.last_drawn.elapsed() >= Duration::from_millis(200) || n == 0) {
            self.last_drawn = Instant::now();
            let percent = if self.total == 0 {
                100.0
            } else {
                self.read as f64 * 100.0 / self.total as f64
            };
            let mut err = std::io::stderr();
            let _ = write!(
                err,
                "\ranalysing… {percent:5.1}% ({} of {} MB)",
                self.read >> 20,
                self.total >> 20
            );
            let _ = err.flush();
        }
        Ok(n)
    }
}

/// The profile: the built-in default, with a TOML file's keys over it.
pub fn load_profile(path: Option<&Path>) -> anyhow::Result<gcode::Profile> {
    let mut figment = Figment::from(Serialized::defaults(gcode::Profile::default()));
    if let Some(path) = path {
        anyhow::ensure!(
            path.is_file(),
            "printer profile {} does not exist",
            path.display()
        );
        figment = figment.merge(Toml::file_exact(path));
    }
    let profile: gcode::Profile = figment
        .extract()
        .map_err(|e| anyhow::anyhow!("invalid printer profile: {e}"))?;
    profile
        .check()
        .map_err(|e| anyhow::anyhow!("invalid printer profile: {e}"))?;
    Ok(profile)
}

fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60)
}

pub fn analyze(file: &Path, profile: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let profile = load_profile(profile)?;
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let total = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let draw = std::io::stderr().is_terminal() && total > 16 << 20;
    let reader = Progress {
        inner: handle,
        read: 0,
        total,
        last_drawn: Instant::now(),
        draw,
    };
    let started = Instant::now();
    let analysis = gcode::analyze(BufReader::with_capacity(1 << 20, reader), &profile)?;
    let elapsed = started.elapsed();
    if draw {
        eprintln!();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&analysis)?);
        return Ok(());
    }
    println!("{}", file.display());
    println!(
        "  estimated time   {} (moves {}, dwell {}, heating {})",
        duration(analysis.estimated_time_s),
        duration(analysis.move_time_s),
        duration(analysis.dwell_time_s),
        duration(analysis.heating_time_s)
    );
    if let Some(slicer) = &analysis.metadata.estimated_time_s {
        println!("  slicer's estimate {}", duration(*slicer));
    }
    println!(
        "  filament         {:.1} mm, {:.1} g",
        analysis.filament_length_mm, analysis.filament_weight_g
    );
    for (tool, usage) in analysis
        .extruders
        .iter()
        .enumerate()
        .filter(|(_, u)| u.length_mm > 0.0)
    {
        println!(
            "    T{tool}             {:.1} mm, {:.2} cm³, {:.1} g",
            usage.length_mm,
            usage.volume_mm3 / 1000.0,
            usage.weight_g
        );
    }
    println!(
        "  layers           {} (max Z {:.2} mm)",
        analysis.layer_count, analysis.max_z
    );
    if let Some(b) = analysis.bounds {
        println!(
            "  extrusion box    X {:.1}..{:.1}  Y {:.1}..{:.1}  Z {:.1}..{:.1} mm",
            b.min[0], b.max[0], b.min[1], b.max[1], b.min[2], b.max[2]
        );
    }
    for feature in &analysis.time_by_feature {
        let name = if feature.name.is_empty() {
            "(no feature marked)"
        } else {
            feature.name.as_str()
        };
        println!("    {name:<24} {}", duration(feature.seconds));
    }
    for thumbnail in &analysis.thumbnails {
        println!(
            "  thumbnail        {} {}×{} ({} bytes)",
            thumbnail.format, thumbnail.width, thumbnail.height, thumbnail.size_bytes
        );
    }
    println!("  warnings         {}", analysis.warning_count);
    for warning in &analysis.warnings {
        println!("    line {}: {}", warning.line, warning.message);
    }
    let mb = total as f64 / 1e6;
    println!(
        "  analysed {:.1} MB in {:.2?} ({:.0} MB/s)",
        mb,
        elapsed,
        mb / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}
