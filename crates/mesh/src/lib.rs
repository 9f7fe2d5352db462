//! Farmhand's checks of a model before it is sliced: STL (binary and ASCII), OBJ and 3MF, read
//! as streams (memory does not grow with the file) for what the library shows and what the
//! refusals need: the format, the number of facets (triangles), the objects and their size.
//!
//! Nothing here panics on bad input: every malformed file is an [`Error`] that says what is
//! wrong in words a member understands ("the STL has no facets", "the 3MF is not a ZIP
//! archive").

mod obj;
mod orient;
mod stl;
mod threemf;

use std::io::{BufRead, Read, Seek};

pub use obj::read_obj;
pub use orient::{Orientation, flat_face_orientation};
pub use stl::{read_stl, read_stl_ascii, read_stl_binary};
pub use threemf::read_3mf;

/// The largest number of facets a model may have: far above any printable model (a detailed
/// scan has a few million), low enough that the slicer's memory stays bounded.
pub const MAX_FACETS: u64 = 20_000_000;

/// The largest coordinate magnitude taken, mm: 1 km. Anything larger is an exporter's unit
/// mistake or garbage, and would overflow the slicer's fixed-point coordinates.
pub const MAX_COORDINATE_MM: f64 = 1_000_000.0;

/// The longest line of an ASCII STL or OBJ file, and the largest XML tag of a 3MF file.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The most a 3MF's model parts may inflate to, bytes (ZIP bombs stop here).
pub const MAX_INFLATED_BYTES: u64 = 4 << 30;

/// The model formats Farmhand slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    StlBinary,
    StlAscii,
    Obj,
    ThreeMf,
}

impl Format {
    /// Stable name, as the API shows it.
    pub fn key(self) -> &'static str {
        match self {
            Format::StlBinary => "stl_binary",
            Format::StlAscii => "stl_ascii",
            Format::Obj => "obj",
            Format::ThreeMf => "3mf",
        }
    }

    pub fn parse(key: &str) -> Option<Format> {
        [
            Format::StlBinary,
            Format::StlAscii,
            Format::Obj,
            Format::ThreeMf,
        ]
        .into_iter()
        .find(|f| f.key() == key)
    }

    /// The file extension the slicer recognises the format by.
    pub fn extension(self) -> &'static str {
        match self {
            Format::StlBinary | Format::StlAscii => "stl",
            Format::Obj => "obj",
            Format::ThreeMf => "3mf",
        }
    }
}

/// A triangle's three corners, mm.
pub type Triangle = [[f64; 3]; 3];

/// An axis-aligned box, mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

impl Bounds {
    fn of_point(p: [f64; 3]) -> Bounds {
        Bounds { min: p, max: p }
    }

    fn add(&mut self, p: [f64; 3]) {
        for (i, v) in p.into_iter().enumerate() {
            self.min[i] = self.min[i].min(v);
            self.max[i] = self.max[i].max(v);
        }
    }

    /// Width, depth and height.
    pub fn size(&self) -> [f64; 3] {
        [
            self.max[0] - self.min[0],
            self.max[1] - self.min[1],
            self.max[2] - self.min[2],
        ]
    }
}

/// Grows an optional box by a point.
fn grow(bounds: &mut Option<Bounds>, p: [f64; 3]) {
    match bounds {
        Some(b) => b.add(p),
        None => *bounds = Some(Bounds::of_point(p)),
    }
}

/// What a model was found to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub format: Format,
    /// Triangles, over every object (an OBJ polygon of n corners counts n − 2).
    pub facets: u64,
    /// Objects with a mesh (1 for STL and OBJ).
    pub objects: u32,
    /// The box around every vertex, in the file's own coordinates.
    pub bounds: Bounds,
    /// The size of the largest object along each axis, mm: what must fit a build volume. For
    /// STL and OBJ, the size of `bounds`; for 3MF, each object's own size (where the file
    /// places it on its plate does not matter: the slicer arranges it).
    pub size: [f64; 3],
}

/// Why a model cannot be sliced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("the {0} has no facets (no triangles to print)")]
    NoFacets(&'static str),
    #[error("the 3MF file is not a ZIP archive (a 3MF package is one): {0}")]
    NotZip(String),
    #[error("the 3MF package has no 3D model part (3D/*.model)")]
    No3mfModel,
    #[error("the model has more than {} facets", MAX_FACETS)]
    TooManyFacets,
    #[error("the 3MF package's model parts inflate to more than {} GiB", MAX_INFLATED_BYTES >> 30)]
    TooLarge,
    #[error("a line of the file is longer than {} KiB", MAX_LINE_BYTES / 1024)]
    LineTooLong,
    #[error("the {what} is malformed: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the file could not be read: {0}")]
    Io(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e.to_string())
    }
}

fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        detail: detail.into(),
    }
}

/// A coordinate as the models write it: finite, and within [`MAX_COORDINATE_MM`].
fn coordinate(what: &'static str, value: f64) -> Result<f64, Error> {
    if value.is_finite() && value.abs() <= MAX_COORDINATE_MM {
        Ok(value)
    } else {
        Err(malformed(
            what,
            format!("a coordinate is {value}, outside ±{MAX_COORDINATE_MM} mm"),
        ))
    }
}

/// Reads one model of `format` from `input` (`size` bytes long).
pub fn read<R: BufRead + Seek>(format: Format, input: R, size: u64) -> Result<ModelInfo, Error> {
    match format {
        Format::StlBinary => read_stl_binary(input, size),
        Format::StlAscii => read_stl_ascii(input),
        Format::Obj => read_obj(input),
        Format::ThreeMf => read_3mf(input),
    }
}

/// Reads a line into `line` (cleared first), at most [`MAX_LINE_BYTES`]. `Ok(false)` at the end.
fn read_line<R: BufRead>(input: &mut R, line: &mut Vec<u8>) -> Result<bool, Error> {
    line.clear();
    let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
    let read = input.by_ref().take(limit + 1).read_until(b'\n', line)?;
    if read == 0 {
        return Ok(false);
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(Error::LineTooLong);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_keys_round_trip() {
        for f in [
            Format::StlBinary,
            Format::StlAscii,
            Format::Obj,
            Format::ThreeMf,
        ] {
            assert_eq!(Format::parse(f.key()), Some(f));
        }
        assert_eq!(Format::parse("gcode"), None);
    }

    #[test]
    fn lines_are_bounded() {
        let long = vec![b'a'; MAX_LINE_BYTES + 10];
        let mut input = std::io::Cursor::new(long);
        let mut line = Vec::new();
        assert_eq!(read_line(&mut input, &mut line), Err(Error::LineTooLong));
    }
}
