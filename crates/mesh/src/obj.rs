//! Wavefront OBJ: `v x y z` vertices and `f a b c …` faces (indices from 1, or negative from
//! the latest vertex; `a/t/n` forms). Only what slicing needs is checked: every face names
//! vertices defined before it. Materials, normals, texture coordinates and groups are skipped.

use std::io::BufRead;

use crate::{
    Error, Format, MAX_FACETS, ModelInfo, Triangle, coordinate, grow, malformed, read_line,
};

const OBJ: &str = "OBJ model";

pub fn read_obj<R: BufRead>(input: R) -> Result<ModelInfo, Error> {
    obj_triangles(input, None)
}

/// [`read_obj`], handing each triangle (polygons as fans from their first corner) to `visit`
/// when given; only then are the vertices kept in memory.
pub(crate) fn obj_triangles<R: BufRead>(
    mut input: R,
    mut visit: Option<&mut dyn FnMut(Triangle)>,
) -> Result<ModelInfo, Error> {
    let mut kept: Vec<[f64; 3]> = Vec::new();
    let mut face: Vec<[f64; 3]> = Vec::new();
    let mut line = Vec::new();
    let mut number: u64 = 0;
    let mut vertices: u64 = 0;
    let mut facets: u64 = 0;
    let mut bounds = None;
    while read_line(&mut input, &mut line)? {
        number += 1;
        let text = std::str::from_utf8(&line)
            .map_err(|_| malformed(OBJ, format!("line {number} is not text")))?;
        let mut words = text.split_ascii_whitespace();
        match words.next() {
            Some("v") => {
                let mut p = [0.0; 3];
                for value in &mut p {
                    let word = words.next().ok_or_else(|| {
                        malformed(OBJ, format!("line {number}: a vertex needs x, y and z"))
                    })?;
                    let v: f64 = word.parse().map_err(|_| {
                        malformed(OBJ, format!("line {number}: {word:?} is not a number"))
                    })?;
                    *value = coordinate(OBJ, v)?;
                }
                vertices += 1;
                grow(&mut bounds, p);
                if visit.is_some() {
                    kept.push(p);
                }
            }
            Some("f") => {
                let mut corners: u64 = 0;
                face.clear();
                for word in words {
                    let index = word.split('/').next().unwrap_or_default();
                    let index: i64 = index.parse().map_err(|_| {
                        malformed(
                            OBJ,
                            format!("line {number}: {word:?} is not a vertex index"),
                        )
                    })?;
                    let valid = match index {
                        0 => false,
                        i if i > 0 => i.unsigned_abs() <= vertices,
                        i => i.unsigned_abs() <= vertices,
                    };
                    if !valid {
                        return Err(malformed(
                            OBJ,
                            format!(
                                "line {number}: the face names vertex {index}, but {vertices} are defined before it"
                            ),
                        ));
                    }
                    corners += 1;
                    if visit.is_some() {
                        // 1-based from the start, or negative from the latest vertex; valid.
                        let at = if index > 0 {
                            index.unsigned_abs() - 1
                        } else {
                            vertices - index.unsigned_abs()
                        };
                        let at = usize::try_from(at).unwrap_or(usize::MAX);
                        face.extend(kept.get(at).copied());
                    }
                }
                if corners < 3 {
                    return Err(malformed(
                        OBJ,
                        format!("line {number}: a face needs at least 3 vertices"),
                    ));
                }
                facets = facets.saturating_add(corners - 2);
                if facets > MAX_FACETS {
                    return Err(Error::TooManyFacets);
                }
                if let Some(visit) = visit.as_mut() {
                    for pair in face.get(1..).unwrap_or_default().windows(2) {
                        visit([face[0], pair[0], pair[1]]);
                    }
                }
            }
            _ => {}
        }
    }
    let bounds = match bounds {
        Some(b) if facets > 0 => b,
        _ => return Err(Error::NoFacets("OBJ model")),
    };
    Ok(ModelInfo {
        format: Format::Obj,
        facets,
        objects: 1,
        bounds,
        size: bounds.size(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ModelInfo, Error> {
        read_obj(text.as_bytes())
    }

    #[test]
    fn faces_count_as_triangles() {
        let info = read("# quad\nv 0 0 0\nv 10 0 0\nv 10 10 0\nv 0 10 3\nvn 0 0 1\nf 1//1 2//1 3//1 4//1\nf -1 -2 -3\n").unwrap();
        assert_eq!(info.facets, 3);
        assert_eq!(info.size, [10.0, 10.0, 3.0]);
    }

    #[test]
    fn bad_faces_are_malformed() {
        for text in [
            "v 0 0 0\nv 1 0 0\nf 1 2 3\n",
            "v 0 0 0\nf 0 1 1\n",
            "v 0 0 0\nv 1 0 0\nf 1 2\n",
            "v 0 0\n",
            "v 0 0 1e400\n",
            "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n",
        ] {
            assert!(matches!(read(text), Err(Error::Malformed { .. })), "{text}");
        }
    }

    #[test]
    fn no_faces_is_no_facets() {
        assert_eq!(read("v 0 0 0\n"), Err(Error::NoFacets("OBJ model")));
        assert_eq!(read(""), Err(Error::NoFacets("OBJ model")));
    }
}
