//! Streaming G-code analysis: estimated print time from a motion model (not distance ÷ feed rate),
//! filament use per extruder, layers, height and bounds, with capped warnings for anything odd.
//! Pure: it reads from any [`std::io::BufRead`] and does no other I/O. Memory stays constant
//! however large the file: lines are capped and the planner's look-ahead window is bounded.
//!
//! ```
//! let gcode = b"G21\nG90\nM83\nG1 X10 Y0 E1 F1200\n";
//! let analysis = gcode::analyze(&gcode[..], &gcode::Profile::default()).unwrap();
//! assert!(analysis.estimated_time_s > 0.0);
//! assert_eq!(analysis.extruders[0].length_mm, 1.0);
//! ```

mod analyzer;
pub mod klipper;
pub mod lexer;
pub mod metadata;
pub mod planner;
pub mod profile;
pub mod thumbnail;

use std::io::BufRead;

use serde::Serialize;

pub use analyzer::Analyzer;
pub use metadata::SlicerMetadata;
pub use profile::{Firmware, KlipperLimits, Profile, ProfileError};
pub use thumbnail::Thumbnail;

/// Why an analysis could not finish. Odd content is never an error (it gives warnings); only the
/// reader failing is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading the G-code failed: {0}")]
    Io(#[from] std::io::Error),
}

/// What a warning is about, as a stable machine-readable kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A command the analyzer does not know (reported once per command).
    UnknownCommand,
    /// A number that is NaN, infinite or absurdly large, or a word that could not be read.
    InvalidWord,
    /// A line longer than the cap; only its beginning was read.
    LineTooLong,
    /// Extrusion outside the profile's bed (reported once).
    OutsideBed,
    /// A command with missing or impossible arguments (an arc without a centre, a bad feed rate).
    InvalidCommand,
    /// An embedded thumbnail that could not be decoded or was too big.
    Thumbnail,
    /// More tools or features than the analyzer tracks.
    Limit,
}

/// A warning with the 1-based line it was found on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub line: u64,
    pub kind: WarningKind,
    pub message: String,
}

/// Time spent in one slicer-marked feature (`;TYPE:Perimeter`, `;TYPE:WALL-OUTER`, …). Moves before
/// the first marker are under the name `""`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureTime {
    pub name: String,
    pub seconds: f64,
}

/// Filament used by one extruder (net of retractions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtruderUsage {
    pub length_mm: f64,
    pub volume_mm3: f64,
    pub weight_g: f64,
}

/// Axis-aligned box, mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bounds {
    #[cfg_attr(feature = "openapi", schema(min_items = 3, max_items = 3))]
    pub min: [f64; 3],
    #[cfg_attr(feature = "openapi", schema(min_items = 3, max_items = 3))]
    pub max: [f64; 3],
}

/// The result of analysing a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Total estimated time: moves + dwells + heating waits, s.
    pub estimated_time_s: f64,
    /// Time spent moving (from the motion model), s.
    pub move_time_s: f64,
    /// Time in G4 dwells, s.
    pub dwell_time_s: f64,
    /// Time waiting for heaters (M109, M190), s.
    pub heating_time_s: f64,
    /// Move time per slicer-marked feature, in order of first appearance.
    pub time_by_feature: Vec<FeatureTime>,
    /// Filament per extruder (index = tool number); always at least one entry. Volume and weight
    /// use the file's `filament_diameter`/`filament_density` when it states them, else the profile's.
    pub extruders: Vec<ExtruderUsage>,
    /// Sum over extruders, mm.
    pub filament_length_mm: f64,
    /// Sum over extruders, g.
    pub filament_weight_g: f64,
    /// Layers, from slicer markers when present, else from Z rising while extruding.
    pub layer_count: u64,
    /// Highest Z the nozzle reaches (any move), mm; 0 when nothing moved.
    pub max_z: f64,
    /// Box around all extruding moves; `None` when nothing was extruded.
    pub bounds: Option<Bounds>,
    /// Lines read.
    pub lines: u64,
    /// The first warnings (up to the profile's cap).
    pub warnings: Vec<Warning>,
    /// All warnings, including those not kept.
    pub warning_count: u64,
    /// What the slicer wrote in its header and footer comments.
    pub metadata: SlicerMetadata,
    /// Embedded thumbnails, decoded.
    pub thumbnails: Vec<Thumbnail>,
}

/// Analyses a whole G-code stream with the given profile.
pub fn analyze<R: BufRead>(reader: R, profile: &Profile) -> Result<Analysis, Error> {
    let mut lines = lexer::LineReader::new(reader, profile.max_line_length);
    let mut analyzer = Analyzer::new(profile);
    lines.for_each_line(|bytes, truncated| analyzer.push_line(bytes, truncated))?;
    Ok(analyzer.finish())
}

/// Analyses any [`std::io::Read`] (wrapped in a buffer).
pub fn analyze_read<R: std::io::Read>(reader: R, profile: &Profile) -> Result<Analysis, Error> {
    analyze(std::io::BufReader::with_capacity(1 << 18, reader), profile)
}
