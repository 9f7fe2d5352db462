//! Embedded thumbnails (`; thumbnail begin 300x300 12345` … `; thumbnail end`, and the
//! `thumbnail_JPG` / `thumbnail_QOI` variants), decoded from base64 to image bytes. Sizes are
//! capped so memory stays bounded.

use base64::Engine as _;
use serde::Serialize;

/// Most thumbnails kept per file.
pub const MAX_THUMBNAILS: usize = 8;
/// Largest base64 text accepted for one thumbnail, bytes.
pub const MAX_THUMBNAIL_BASE64: usize = 4 << 20;

/// One decoded thumbnail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thumbnail {
    /// `PNG`, `JPG` or `QOI`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    /// Size of `data`, bytes.
    pub size_bytes: usize,
    /// The image file's bytes (not serialized).
    #[serde(skip)]
    pub data: Vec<u8>,
}

struct Pending {
    format: String,
    width: u32,
    height: u32,
    base64: Vec<u8>,
    too_big: bool,
}

/// Collects thumbnails from comment lines.
#[derive(Default)]
pub struct ThumbnailReader {
    pending: Option<Pending>,
    pub thumbnails: Vec<Thumbnail>,
}

fn format_of(tag: &[u8]) -> Option<&'static str> {
    match tag {
        b"thumbnail" | b"thumbnail_PNG" => Some("PNG"),
        b"thumbnail_JPG" => Some("JPG"),
        b"thumbnail_QOI" => Some("QOI"),
        _ => None,
    }
}

/// `300x300` → (300, 300).
fn dimensions(v: &[u8]) -> Option<(u32, u32)> {
    let s = std::str::from_utf8(v).ok()?;
    let (w, h) = s.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

impl ThumbnailReader {
    /// Looks at one comment (text after `;`). Returns a warning message when a thumbnail is
    /// broken or dropped.
    pub fn comment(&mut self, comment: &[u8]) -> Option<String> {
        let c = comment.trim_ascii();
        let mut words = c.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let first = words.next().unwrap_or_default();
        if let Some(format) = format_of(first) {
            match words.next() {
                Some(b"begin") => {
                    let (width, height) = words.next().and_then(dimensions).unwrap_or((0, 0));
                    self.pending = Some(Pending {
                        format: format.to_string(),
                        width,
                        height,
                        base64: Vec::new(),
                        too_big: false,
                    });
                    return None;
                }
                Some(b"end") => return self.finish(),
                _ => {}
            }
        }
        if let Some(p) = self.pending.as_mut() {
            if p.base64.len() + c.len() > MAX_THUMBNAIL_BASE64 {
                p.too_big = true;
            } else {
                p.base64.extend_from_slice(c);
            }
        }
        None
    }

    fn finish(&mut self) -> Option<String> {
        let p = self.pending.take()?;
        if p.too_big {
            return Some(format!(
                "thumbnail {}x{} larger than {MAX_THUMBNAIL_BASE64} bytes of base64; skipped",
                p.width, p.height
            ));
        }
        if self.thumbnails.len() >= MAX_THUMBNAILS {
            return Some(format!(
                "more than {MAX_THUMBNAILS} thumbnails; {}x{} skipped",
                p.width, p.height
            ));
        }
        match base64::engine::general_purpose::STANDARD.decode(&p.base64) {
            Ok(data) => {
                self.thumbnails.push(Thumbnail {
                    format: p.format,
                    width: p.width,
                    height: p.height,
                    size_bytes: data.len(),
                    data,
                });
                None
            }
            Err(e) => Some(format!(
                "thumbnail {}x{} is not valid base64 ({e}); skipped",
                p.width, p.height
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (ThumbnailReader, Vec<String>) {
        let mut r = ThumbnailReader::default();
        let mut warnings = Vec::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix(';')
                && let Some(w) = r.comment(c.as_bytes())
            {
                warnings.push(w);
            }
        }
        (r, warnings)
    }

    #[test]
    fn prusaslicer_png_and_jpg_thumbnails() {
        // "hello world" = aGVsbG8gd29ybGQ=, split over two lines.
        let (r, w) = read(
            "; thumbnail begin 16x16 16\n; aGVsbG8g\n; d29ybGQ=\n; thumbnail end\n\
             ; thumbnail_JPG begin 220x124 4\n; AAEC\n; thumbnail_JPG end\n",
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(r.thumbnails.len(), 2);
        assert_eq!(r.thumbnails[0].format, "PNG");
        assert_eq!((r.thumbnails[0].width, r.thumbnails[0].height), (16, 16));
        assert_eq!(r.thumbnails[0].data, b"hello world");
        assert_eq!(r.thumbnails[0].size_bytes, 11);
        assert_eq!(r.thumbnails[1].format, "JPG");
        assert_eq!(r.thumbnails[1].data, vec![0, 1, 2]);
    }

    #[test]
    fn broken_thumbnails_warn() {
        let (r, w) = read("; thumbnail begin 16x16 16\n; !!!!\n; thumbnail end\n");
        assert!(r.thumbnails.is_empty());
        assert_eq!(w.len(), 1);
        // An end without a begin, or a begin without an end, is harmless.
        let (r, w) = read("; thumbnail end\n; thumbnail begin 1x1 4\n; AAEC\n");
        assert!(r.thumbnails.is_empty() && w.is_empty());
    }
}
