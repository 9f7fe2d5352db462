//! Analyses one G-code file with the default profile and prints the result and the throughput:
//! `cargo run --release -p gcode --example analyze -- FILE`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: analyze FILE")?;
    let size = std::fs::metadata(&path)?.len();
    let file = std::fs::File::open(&path)?;
    let start = Instant::now();
    let analysis = gcode::analyze_read(file, &gcode::Profile::default())?;
    let secs = start.elapsed().as_secs_f64();
    println!("{analysis:#?}");
    println!(
        "{size} bytes in {secs:.3} s: {:.1} MB/s",
        size as f64 / secs / 1e6
    );
    Ok(())
}
