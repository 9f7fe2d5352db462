//! What an upload is, from its first bytes: G-code, or something Farmhand does not take (yet),
//! named so that the refusal can say what was found.

use std::io::Read;

/// How much of the start of a file is looked at.
pub(crate) const SNIFF_BYTES: usize = 64 * 1024;

/// What a file was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundKind {
    Gcode,
    Empty,
    StlAscii,
    StlBinary,
    /// A ZIP archive: 3MF projects (Bambu Studio's and PrusaSlicer's `.3mf`) are ZIP files.
    ThreeMfOrZip,
    Obj,
    Png,
    Jpeg,
    /// Text, but no G-code in it.
    Text,
    Binary,
}

impl FoundKind {
    /// Stable machine-readable name (the error's `found`).
    pub fn key(self) -> &'static str {
        match self {
            FoundKind::Gcode => "gcode",
            FoundKind::Empty => "empty",
            FoundKind::StlAscii => "stl_ascii",
            FoundKind::StlBinary => "stl_binary",
            FoundKind::ThreeMfOrZip => "3mf_or_zip",
            FoundKind::Obj => "obj",
            FoundKind::Png => "png",
            FoundKind::Jpeg => "jpeg",
            FoundKind::Text => "text",
            FoundKind::Binary => "binary",
        }
    }

    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            FoundKind::Gcode => "G-code",
            FoundKind::Empty => "an empty file",
            FoundKind::StlAscii => "an STL model (ASCII)",
            FoundKind::StlBinary => "an STL model (binary)",
            FoundKind::ThreeMfOrZip => "a 3MF project or another ZIP archive",
            FoundKind::Obj => "an OBJ model",
            FoundKind::Png => "a PNG image",
            FoundKind::Jpeg => "a JPEG image",
            FoundKind::Text => "text that is not G-code",
            FoundKind::Binary => "binary data",
        }
    }

    pub const ALL: [FoundKind; 10] = [
        FoundKind::Gcode,
        FoundKind::Empty,
        FoundKind::StlAscii,
        FoundKind::StlBinary,
        FoundKind::ThreeMfOrZip,
        FoundKind::Obj,
        FoundKind::Png,
        FoundKind::Jpeg,
        FoundKind::Text,
        FoundKind::Binary,
    ];
}

/// What the file of `size` bytes whose start is `head` is.
pub fn sniff(head: &[u8], size: u64) -> FoundKind {
    if size == 0 {
        return FoundKind::Empty;
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return FoundKind::Png;
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return FoundKind::Jpeg;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return FoundKind::ThreeMfOrZip;
    }
    if is_binary_stl(head, size) {
        return FoundKind::StlBinary;
    }
    if !is_text(head) {
        return FoundKind::Binary;
    }
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.clone().next().unwrap_or_default();
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("solid") && text.contains("facet") {
        return FoundKind::StlAscii;
    }
    if lines.clone().any(is_gcode_command) || first.starts_with(';') {
        return FoundKind::Gcode;
    }
    if lines.any(|line| line.starts_with("v ") || line.starts_with("f ")) {
        return FoundKind::Obj;
    }
    FoundKind::Text
}

/// A G-code command word (`G1`, `M104`, `T0`), optionally after a line number (`N12 G1`).
fn is_gcode_command(line: &str) -> bool {
    let line = match line.strip_prefix(['N', 'n']) {
        Some(rest) => rest
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start(),
        None => line,
    };
    let mut chars = line.chars();
    matches!(chars.next(), Some('G' | 'M' | 'T' | 'g' | 'm' | 't'))
        && chars.next().is_some_and(|c| c.is_ascii_digit())
}

/// Binary STL: an 80-byte header, a triangle count, and exactly 50 bytes per triangle.
fn is_binary_stl(head: &[u8], size: u64) -> bool {
    let Some(count) = head.get(80..84) else {
        return false;
    };
    let triangles = u64::from(u32::from_le_bytes([count[0], count[1], count[2], count[3]]));
    triangles
        .checked_mul(50)
        .and_then(|body| body.checked_add(84))
        == Some(size)
}

/// Text: no NUL bytes and almost no other control characters (a multi-byte character cut at
/// the end of `head` is fine).
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let control = head
        .iter()
        .filter(|b| b.is_ascii_control() && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    control * 100 <= head.len()
}

/// Reads the start of a file and sniffs it.
pub fn sniff_file(path: &std::path::Path, size: u64) -> std::io::Result<FoundKind> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    Ok(sniff(&head, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(bytes: &[u8]) -> FoundKind {
        sniff(bytes, bytes.len() as u64)
    }

    #[test]
    fn slicer_output_is_gcode() {
        assert_eq!(
            of(b"; generated by PrusaSlicer 2.7.1\n; thumbnail begin 16x16 4\n"),
            FoundKind::Gcode
        );
        assert_eq!(of(b"G28\nG1 X10 Y10 F3000\n"), FoundKind::Gcode);
        assert_eq!(of(b";FLAVOR:Marlin\r\nM104 S200\r\n"), FoundKind::Gcode);
        assert_eq!(of(b"N10 G28*20\n"), FoundKind::Gcode);
        assert_eq!(of(b"\n\nM140 S60\n"), FoundKind::Gcode);
    }

    #[test]
    fn everything_else_is_named() {
        assert_eq!(of(b""), FoundKind::Empty);
        assert_eq!(
            of(b"solid cube\n facet normal 0 0 1\n"),
            FoundKind::StlAscii
        );
        let mut stl = vec![0u8; 80];
        stl.extend_from_slice(&2u32.to_le_bytes());
        stl.extend_from_slice(&[7u8; 100]);
        assert_eq!(of(&stl), FoundKind::StlBinary);
        assert_eq!(
            of(b"PK\x03\x04\x14\x00\x00\x00[Content_Types].xml"),
            FoundKind::ThreeMfOrZip
        );
        assert_eq!(of(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), FoundKind::Png);
        assert_eq!(of(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), FoundKind::Jpeg);
        assert_eq!(
            of(b"# Blender\nv 1 2 3\nv 1 2 4\nf 1 2 3\n"),
            FoundKind::Obj
        );
        assert_eq!(of(b"hello, this is a shopping list\n"), FoundKind::Text);
        assert_eq!(of(&[0x13, 0x37, 0x00, 0xFE, 0x01, 0x02]), FoundKind::Binary);
        // Text with many control characters is binary too.
        assert_eq!(of(&[b'G', 0x01, 0x02, 0x03, b'1']), FoundKind::Binary);
    }

    #[test]
    fn an_stl_named_solid_but_binary_is_binary_stl() {
        // Some exporters start binary STL headers with "solid".
        let mut stl = b"solid exported".to_vec();
        stl.resize(80, b' ');
        stl.extend_from_slice(&1u32.to_le_bytes());
        stl.extend_from_slice(&[0u8; 50]);
        assert_eq!(of(&stl), FoundKind::StlBinary);
    }

    #[test]
    fn keys_are_distinct() {
        let keys: std::collections::BTreeSet<_> = FoundKind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), FoundKind::ALL.len());
    }
}
