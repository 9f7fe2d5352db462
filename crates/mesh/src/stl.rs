//! STL, binary (an 80-byte header, a triangle count, 50 bytes a triangle) and ASCII
//! (`solid … facet normal … outer loop / vertex × 3 / endloop endfacet … endsolid`).

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::{
    Bounds, Error, Format, MAX_FACETS, ModelInfo, Triangle, coordinate, grow, malformed, read_line,
};

const BINARY: &str = "binary STL";
const ASCII: &str = "ASCII STL";

/// Reads an STL of either kind: binary when its size is exactly what its triangle count says
/// (some exporters start binary headers with `solid` too), ASCII otherwise.
pub fn read_stl<R: BufRead + Seek>(input: R, size: u64) -> Result<ModelInfo, Error> {
    stl_triangles(input, size, &mut |_| {})
}

/// [`read_stl`], handing each triangle to `visit`.
pub(crate) fn stl_triangles<R: BufRead + Seek>(
    mut input: R,
    size: u64,
    visit: &mut dyn FnMut(Triangle),
) -> Result<ModelInfo, Error> {
    let mut head = [0u8; 84];
    let mut got = 0;
    while got < head.len() {
        let n = input.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    input.seek(SeekFrom::Start(0))?;
    if got == head.len() {
        let count = u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]));
        if count.checked_mul(50).and_then(|b| b.checked_add(84)) == Some(size) {
            return binary_triangles(input, size, visit);
        }
    }
    if head[..got].trim_ascii_start().starts_with(b"solid") {
        return ascii_triangles(input, visit);
    }
    if got < head.len() {
        return Err(malformed(BINARY, "shorter than an STL header (84 bytes)"));
    }
    Err(malformed(
        BINARY,
        format!(
            "its header counts {} triangles ({} bytes), but the file has {size} bytes",
            u32::from_le_bytes([head[80], head[81], head[82], head[83]]),
            u64::from(u32::from_le_bytes([head[80], head[81], head[82], head[83]]))
                .saturating_mul(50)
                .saturating_add(84)
        ),
    ))
}

/// Reads a binary STL of `size` bytes.
pub fn read_stl_binary<R: Read>(input: R, size: u64) -> Result<ModelInfo, Error> {
    binary_triangles(input, size, &mut |_| {})
}

fn binary_triangles<R: Read>(
    mut input: R,
    size: u64,
    visit: &mut dyn FnMut(Triangle),
) -> Result<ModelInfo, Error> {
    let mut header = [0u8; 84];
    input
        .read_exact(&mut header)
        .map_err(|_| malformed(BINARY, "shorter than an STL header (84 bytes)"))?;
    let count = u64::from(u32::from_le_bytes([
        header[80], header[81], header[82], header[83],
    ]));
    let expected = count.saturating_mul(50).saturating_add(84);
    if expected != size {
        return Err(malformed(
            BINARY,
            format!(
                "its header counts {count} triangles ({expected} bytes), but the file has {size} bytes"
            ),
        ));
    }
    if count == 0 {
        return Err(Error::NoFacets("STL"));
    }
    if count > MAX_FACETS {
        return Err(Error::TooManyFacets);
    }
    let mut bounds = None;
    let mut triangle = [0u8; 50];
    for n in 0..count {
        input
            .read_exact(&mut triangle)
            .map_err(|_| malformed(BINARY, format!("it ends inside triangle {n}")))?;
        // Bytes 0..12 are the normal (ignored: slicers recompute it), 12..48 the corners.
        let mut corners = [[0.0; 3]; 3];
        for (corner, p) in triangle[12..48].chunks_exact(12).zip(&mut corners) {
            for (axis, value) in corner.chunks_exact(4).enumerate() {
                let v = f32::from_le_bytes([value[0], value[1], value[2], value[3]]);
                p[axis] = coordinate(BINARY, f64::from(v))?;
            }
            grow(&mut bounds, *p);
        }
        visit(corners);
    }
    finish(Format::StlBinary, count, bounds)
}

/// Reads an ASCII STL.
pub fn read_stl_ascii<R: BufRead>(input: R) -> Result<ModelInfo, Error> {
    ascii_triangles(input, &mut |_| {})
}

fn ascii_triangles<R: BufRead>(
    mut input: R,
    visit: &mut dyn FnMut(Triangle),
) -> Result<ModelInfo, Error> {
    let mut line = Vec::new();
    let mut corners: Triangle = [[0.0; 3]; 3];
    let mut facets: u64 = 0;
    let mut corners_in_facet: Option<u32> = None;
    let mut bounds = None;
    let mut number: u64 = 0;
    let mut seen_solid = false;
    while read_line(&mut input, &mut line)? {
        number += 1;
        let text = std::str::from_utf8(&line)
            .map_err(|_| malformed(ASCII, format!("line {number} is not text")))?;
        let mut words = text.split_ascii_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        match keyword.to_ascii_lowercase().as_str() {
            "solid" => seen_solid = true,
            "facet" => {
                if corners_in_facet.is_some() {
                    return Err(malformed(
                        ASCII,
                        format!("line {number}: a facet starts inside another"),
                    ));
                }
                corners_in_facet = Some(0);
                facets += 1;
                if facets > MAX_FACETS {
                    return Err(Error::TooManyFacets);
                }
            }
            "vertex" => {
                let Some(count) = corners_in_facet.as_mut() else {
                    return Err(malformed(
                        ASCII,
                        format!("line {number}: a vertex outside a facet"),
                    ));
                };
                *count += 1;
                let at = usize::try_from(*count - 1).unwrap_or(usize::MAX);
                let mut p = [0.0; 3];
                for value in &mut p {
                    let word = words.next().ok_or_else(|| {
                        malformed(ASCII, format!("line {number}: a vertex needs x, y and z"))
                    })?;
                    let v: f64 = word.parse().map_err(|_| {
                        malformed(ASCII, format!("line {number}: {word:?} is not a number"))
                    })?;
                    *value = coordinate(ASCII, v)?;
                }
                grow(&mut bounds, p);
                if let Some(corner) = corners.get_mut(at) {
                    *corner = p;
                }
            }
            "endfacet" => match corners_in_facet.take() {
                Some(3) => visit(corners),
                Some(n) => {
                    return Err(malformed(
                        ASCII,
                        format!("line {number}: a facet has {n} vertices, not 3"),
                    ));
                }
                None => {
                    return Err(malformed(
                        ASCII,
                        format!("line {number}: endfacet without a facet"),
                    ));
                }
            },
            "outer" | "endloop" | "endsolid" => {}
            other => {
                return Err(malformed(
                    ASCII,
                    format!(
                        "line {number}: unexpected {:?}",
                        other.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
    }
    if !seen_solid {
        return Err(malformed(ASCII, "it does not start with \"solid\""));
    }
    if corners_in_facet.is_some() {
        return Err(malformed(ASCII, "it ends inside a facet"));
    }
    finish(Format::StlAscii, facets, bounds)
}

fn finish(format: Format, facets: u64, bounds: Option<Bounds>) -> Result<ModelInfo, Error> {
    let bounds = match bounds {
        Some(b) if facets > 0 => b,
        _ => return Err(Error::NoFacets("STL")),
    };
    Ok(ModelInfo {
        format,
        facets,
        objects: 1,
        bounds,
        size: bounds.size(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Cursor;

    pub(crate) fn binary(triangles: &[[[f32; 3]; 3]]) -> Vec<u8> {
        let mut out = vec![0u8; 80];
        out.extend_from_slice(&(triangles.len() as u32).to_le_bytes());
        for t in triangles {
            out.extend_from_slice(&[0u8; 12]);
            for corner in t {
                for v in corner {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    fn read(bytes: &[u8]) -> Result<ModelInfo, Error> {
        read_stl(Cursor::new(bytes), bytes.len() as u64)
    }

    #[test]
    fn binary_stl_gives_facets_and_size() {
        let stl = binary(&[
            [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 20.0, 5.0]],
            [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [-3.0, 0.0, 0.0]],
        ]);
        let info = read(&stl).unwrap();
        assert_eq!(info.format, Format::StlBinary);
        assert_eq!(info.facets, 2);
        assert_eq!(info.size, [13.0, 20.0, 5.0]);
    }

    #[test]
    fn binary_stl_with_solid_header_is_binary() {
        let mut stl = binary(&[[[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]);
        stl[..5].copy_from_slice(b"solid");
        assert_eq!(read(&stl).unwrap().format, Format::StlBinary);
    }

    #[test]
    fn an_stl_with_no_facets_is_refused() {
        assert_eq!(read(&binary(&[])), Err(Error::NoFacets("STL")));
        assert_eq!(
            read(b"solid empty\nendsolid empty\n"),
            Err(Error::NoFacets("STL"))
        );
    }

    #[test]
    fn truncated_and_nan_binary_stls_are_malformed() {
        let mut stl = binary(&[[[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]);
        stl.truncate(100);
        assert!(matches!(read(&stl), Err(Error::Malformed { .. })));
        let stl = binary(&[[[f32::NAN, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]);
        assert!(matches!(read(&stl), Err(Error::Malformed { .. })));
        assert!(matches!(read(b"\x00\x01"), Err(Error::Malformed { .. })));
    }

    #[test]
    fn ascii_stl_gives_facets_and_size() {
        let text = b"solid t\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 5 0 0\n   vertex 0 5 2.5\n  endloop\n endfacet\nendsolid t\n";
        let info = read(text).unwrap();
        assert_eq!(info.format, Format::StlAscii);
        assert_eq!(info.facets, 1);
        assert_eq!(info.size, [5.0, 5.0, 2.5]);
    }

    #[test]
    fn broken_ascii_stls_are_malformed() {
        for text in [
            &b"solid t\n facet normal 0 0 1\n outer loop\n vertex 0 0 0\n vertex 1 0 0\n endloop\n endfacet\nendsolid\n"[..],
            b"solid t\n facet normal 0 0 1\n outer loop\n vertex 0 0 x\n",
            b"solid t\n vertex 0 0 0\n",
            b"solid t\n facet normal 0 0 1\n outer loop\n vertex 0 0 0\n",
            b"solid t\n hello\n",
        ] {
            assert!(
                matches!(read(text), Err(Error::Malformed { .. })),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
