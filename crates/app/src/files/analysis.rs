//! A file's analysis as the library keeps it, from the `gcode` crate's, run off the async
//! runtime: reading and analysing hundreds of megabytes is blocking work.

use std::path::PathBuf;

use domain::{
    ExtruderFilament, FileAnalysis, FileBounds, FileMetadata, PrinterModelId, ThumbnailInfo,
};

use crate::error::{AppError, AppResult};

/// The analysis and the thumbnails' images, in the order of `analysis.thumbnails`.
pub(crate) struct Analysed {
    pub analysis: FileAnalysis,
    pub images: Vec<Vec<u8>>,
}

/// Analyses the file at `path` with `profile` on a blocking thread, hashing it (SHA-256) and
/// counting its bytes in the same read: one pass over the file instead of two.
pub(crate) async fn analyse_and_hash_file(
    path: PathBuf,
    profile: gcode::Profile,
    model: Option<PrinterModelId>,
) -> AppResult<(Analysed, domain::ContentHash, u64)> {
    tokio::task::spawn_blocking(move || {
        let mut reader = Hashing {
            inner: std::fs::File::open(path)?,
            hasher: <sha2::Sha256 as sha2::Digest>::new(),
            size: 0,
        };
        let analysis = gcode::analyze_read(&mut reader, &profile).map_err(std::io::Error::other)?;
        // Whatever the analysis left unread (it reads to the end) is hashed too.
        std::io::copy(&mut reader, &mut std::io::sink())?;
        let digest = sha2::Digest::finalize(reader.hasher);
        Ok::<_, std::io::Error>((
            kept(analysis, model),
            domain::ContentHash::from_digest(digest.into()),
            reader.size,
        ))
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    size: u64,
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        sha2::Digest::update(&mut self.hasher, read);
        self.size += read.len() as u64;
        Ok(n)
    }
}

/// Analyses the file at `path` with `profile` on a blocking thread.
pub(crate) async fn analyse_file(
    path: PathBuf,
    profile: gcode::Profile,
    model: Option<PrinterModelId>,
) -> AppResult<Analysed> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(path)?;
        gcode::analyze_read(file, &profile).map_err(std::io::Error::other)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)
    .map(|analysis| kept(analysis, model))
}

/// Analyses content in memory (small demo files) with `profile` on a blocking thread.
pub(crate) async fn analyse_bytes(
    bytes: &'static [u8],
    profile: gcode::Profile,
    model: Option<PrinterModelId>,
) -> AppResult<Analysed> {
    tokio::task::spawn_blocking(move || gcode::analyze(bytes, &profile))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
        .map(|analysis| kept(analysis, model))
}

/// A number fit to store: a model's odd limits must not make an estimate NaN or infinite.
fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

fn thumbnail_format(format: &str) -> &'static str {
    match format {
        "PNG" => "png",
        "JPG" => "jpeg",
        _ => "qoi",
    }
}

fn kept(analysis: gcode::Analysis, model: Option<PrinterModelId>) -> Analysed {
    let mut images = Vec::with_capacity(analysis.thumbnails.len());
    let mut thumbnails = Vec::with_capacity(analysis.thumbnails.len());
    for (n, thumbnail) in (0u32..).zip(analysis.thumbnails) {
        thumbnails.push(ThumbnailInfo {
            n,
            format: thumbnail_format(&thumbnail.format).to_string(),
            width: thumbnail.width,
            height: thumbnail.height,
            size: thumbnail.data.len() as u64,
        });
        images.push(thumbnail.data);
    }
    let metadata = analysis.metadata;
    let analysis = FileAnalysis {
        estimated_time_s: finite(analysis.estimated_time_s),
        filament_length_mm: finite(analysis.filament_length_mm),
        filament_weight_g: finite(analysis.filament_weight_g),
        extruders: analysis
            .extruders
            .iter()
            .map(|e| ExtruderFilament {
                length_mm: finite(e.length_mm),
                weight_g: finite(e.weight_g),
            })
            .collect(),
        layers: analysis.layer_count,
        bounds: analysis.bounds.map(|b| FileBounds {
            min: b.min,
            max: b.max,
        }),
        metadata: FileMetadata {
            slicer: metadata.slicer,
            slicer_estimated_time_s: metadata.estimated_time_s,
            filament_type: metadata.filament_type,
            nozzle_diameter_mm: metadata.nozzle_diameter,
            layer_height_mm: metadata.layer_height,
            printer_model: metadata.printer_model,
        },
        thumbnails,
        printer_model_id: model,
        warning_count: analysis.warning_count,
    };
    Analysed { analysis, images }
}
