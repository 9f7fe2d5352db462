//! Auto-rotation onto a flat face: the rotation that puts a model's largest flat face on the
//! bed. Facets are grouped by their outward normal (to [`NORMAL_STEP`]) and, within a normal,
//! by their plane: only the outermost plane of each normal counts, with the areas of its
//! coplanar facets summed (the four feet of a table make one face). A face the model can rest
//! on must have every vertex on its inner side — a pocket's floor has the normal of the
//! outside but not the outermost plane — so the largest candidates are checked against every
//! vertex in a second pass over the file, which also measures the model's size as rotated.
//!
//! Two passes over the file, memory bounded by the number of distinct normals kept
//! ([`MAX_NORMALS`]), whatever the number of facets.

use std::collections::HashMap;
use std::io::{BufRead, Seek, SeekFrom};

use crate::obj::obj_triangles;
use crate::stl::stl_triangles;
use crate::{Error, Format, Triangle};

/// Normals closer than this (per component of the unit vector) are the same direction: about
/// a tenth of a degree, above the noise of float32 STL coordinates.
pub const NORMAL_STEP: f64 = 0.002;
/// Facets whose planes are closer than this, mm, along their normal are coplanar.
pub const PLANE_TOLERANCE_MM: f64 = 0.01;
/// Most distinct normals kept; past it, facets of new normals are not candidates (a scan
/// with millions of normals has no large flat face among them anyway).
pub const MAX_NORMALS: usize = 1 << 20;
/// How many of the largest faces are checked against every vertex.
const CANDIDATES: usize = 16;

/// How to turn a model so that its largest flat face lies on the bed: first `rotate_x_deg`
/// about X, then `rotate_y_deg` about Y (right-handed, degrees), as PrusaSlicer's
/// `--rotate-x` and `--rotate-y` apply them in that order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    pub rotate_x_deg: f64,
    pub rotate_y_deg: f64,
    /// The face's outward normal before turning (after it: straight down).
    pub normal: [f64; 3],
    /// The face's area, mm².
    pub face_area_mm2: f64,
    /// Width, depth and height of the turned model, mm.
    pub size: [f64; 3],
}

impl Orientation {
    /// Whether the model lies on that face already (no turn needed).
    pub fn is_identity(&self) -> bool {
        self.rotate_x_deg == 0.0 && self.rotate_y_deg == 0.0
    }
}

/// The outermost plane seen for one normal, and the area of its facets.
#[derive(Debug, Clone, Copy)]
struct Face {
    /// Area-weighted sum of the facets' unit normals.
    normal_sum: [f64; 3],
    /// Distance of the plane from the origin along the normal.
    offset: f64,
    area: f64,
}

/// The orientation that puts the largest flat face of an STL or OBJ model on the bed; `None`
/// for a 3MF (whose objects carry their own placement) or a model with no face of any area.
pub fn flat_face_orientation<R: BufRead + Seek>(
    format: Format,
    mut input: R,
    size: u64,
) -> Result<Option<Orientation>, Error> {
    if format == Format::ThreeMf {
        return Ok(None);
    }
    let mut faces: HashMap<[i32; 3], Face> = HashMap::new();
    visit(format, &mut input, size, &mut |t| add_facet(&mut faces, t))?;
    let mut candidates: Vec<Face> = faces.into_values().collect();
    candidates.sort_by(|a, b| {
        b.area
            .total_cmp(&a.area)
            // Of equal faces, the one needing the least turn (pointing down most).
            .then(unit(a.normal_sum)[2].total_cmp(&unit(b.normal_sum)[2]))
    });
    candidates.truncate(CANDIDATES);
    if candidates.is_empty() {
        return Ok(None);
    }
    let turns: Vec<(f64, f64, [[f64; 3]; 3])> = candidates
        .iter()
        .map(|face| {
            let (x, y) = angles_to_put_down(unit(face.normal_sum));
            (x, y, rotated_axes(x, y))
        })
        .collect();
    // For each candidate: the lowest and highest vertex along each turned axis.
    let mut extents = vec![[[f64::INFINITY, f64::NEG_INFINITY]; 3]; turns.len()];
    input.seek(SeekFrom::Start(0))?;
    visit(format, &mut input, size, &mut |t| {
        for p in t {
            for ((_, _, axes), extent) in turns.iter().zip(extents.iter_mut()) {
                for (axis, range) in axes.iter().zip(extent.iter_mut()) {
                    let v = dot(*axis, p);
                    range[0] = range[0].min(v);
                    range[1] = range[1].max(v);
                }
            }
        }
    })?;
    let resting = candidates
        .iter()
        .zip(&turns)
        .zip(&extents)
        .find(|((face, _), extent)| {
            // Turned, the face's normal is -Z: the model's lowest point along Z is the face's
            // plane when nothing pokes out below it.
            let lowest = -extent[2][0];
            lowest <= face.offset + PLANE_TOLERANCE_MM * 10.0
        });
    Ok(resting.map(|((face, (x, y, _)), extent)| Orientation {
        rotate_x_deg: *x,
        rotate_y_deg: *y,
        normal: unit(face.normal_sum),
        face_area_mm2: face.area,
        size: extent.map(|[lo, hi]| hi - lo),
    }))
}

fn visit<R: BufRead + Seek>(
    format: Format,
    input: &mut R,
    size: u64,
    each: &mut dyn FnMut(Triangle),
) -> Result<(), Error> {
    match format {
        Format::Obj => obj_triangles(input, Some(each)).map(|_| ()),
        _ => stl_triangles(input, size, each).map(|_| ()),
    }
}

fn add_facet(faces: &mut HashMap<[i32; 3], Face>, [a, b, c]: Triangle) {
    let cross = cross(sub(b, a), sub(c, a));
    let twice_area = dot(cross, cross).sqrt();
    if !(twice_area.is_finite() && twice_area > 1e-12) {
        return;
    }
    let normal = cross.map(|v| v / twice_area);
    let area = twice_area / 2.0;
    let offset = dot(normal, a);
    #[allow(clippy::cast_possible_truncation)]
    let key = normal.map(|v| (v / NORMAL_STEP).round() as i32);
    let full = faces.len() >= MAX_NORMALS;
    match faces.get_mut(&key) {
        Some(face) if offset > face.offset + PLANE_TOLERANCE_MM => {
            *face = Face {
                normal_sum: normal.map(|v| v * area),
                offset,
                area,
            };
        }
        Some(face) if offset >= face.offset - PLANE_TOLERANCE_MM => {
            for (sum, v) in face.normal_sum.iter_mut().zip(normal) {
                *sum += v * area;
            }
            face.area += area;
        }
        Some(_) => {}
        None if full => {}
        None => {
            faces.insert(
                key,
                Face {
                    normal_sum: normal.map(|v| v * area),
                    offset,
                    area,
                },
            );
        }
    }
}

/// The turns about X then Y that bring the unit vector `n` to straight down (0, 0, −1), the
/// smallest of them: none for a face already down.
fn angles_to_put_down(n: [f64; 3]) -> (f64, f64) {
    let [nx, ny, nz] = n;
    // About X by a, (nx, ny, nz) becomes (nx, 0, −r) with r = √(ny² + nz²); then about Y by b,
    // (nx, −r) in the XZ plane becomes (0, −1).
    let r = ny.hypot(nz);
    // Along X already (r is rounding noise): no turn about X, whatever the signs of the noise.
    let (a, r) = if r > 1e-9 {
        ((-ny).atan2(-nz), r)
    } else {
        (0.0, 0.0)
    };
    let b = nx.atan2(r);
    (clean_degrees(a.to_degrees()), clean_degrees(b.to_degrees()))
}

/// Angles as PrusaSlicer's command line takes them: rounded to a millionth of a degree, and
/// never `-0`.
fn clean_degrees(v: f64) -> f64 {
    let rounded = (v * 1e6).round() / 1e6;
    if rounded == 0.0 { 0.0 } else { rounded }
}

/// The model's directions that end up along X, Y and Z after turning by `x` about X then `y`
/// about Y (the rows of the rotation): a vertex's turned coordinate along an axis is its dot
/// product with that direction.
fn rotated_axes(x_deg: f64, y_deg: f64) -> [[f64; 3]; 3] {
    let (sa, ca) = x_deg.to_radians().sin_cos();
    let (sb, cb) = y_deg.to_radians().sin_cos();
    // R = Ry(b) · Rx(a).
    [
        [cb, sb * sa, sb * ca],
        [0.0, ca, -sa],
        [-sb, cb * sa, cb * ca],
    ]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let length = dot(v, v).sqrt();
    if length > 0.0 {
        v.map(|c| c / length)
    } else {
        [0.0, 0.0, -1.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The 12 triangles of a box from `min` to `max`, facing outwards.
    fn box_triangles(min: [f64; 3], max: [f64; 3]) -> Vec<Triangle> {
        let corner = |i: usize| {
            [
                if i & 1 == 0 { min[0] } else { max[0] },
                if i & 2 == 0 { min[1] } else { max[1] },
                if i & 4 == 0 { min[2] } else { max[2] },
            ]
        };
        // Each side as four corners counter-clockwise seen from outside.
        let sides = [
            [0, 2, 3, 1], // bottom (z min)
            [4, 5, 7, 6], // top
            [0, 1, 5, 4], // front (y min)
            [2, 6, 7, 3], // back
            [0, 4, 6, 2], // left (x min)
            [1, 3, 7, 5], // right
        ];
        sides
            .iter()
            .flat_map(|[a, b, c, d]| {
                [
                    [corner(*a), corner(*b), corner(*c)],
                    [corner(*a), corner(*c), corner(*d)],
                ]
            })
            .collect()
    }

    fn stl(triangles: &[Triangle]) -> Vec<u8> {
        let narrowed: Vec<[[f32; 3]; 3]> = triangles
            .iter()
            .map(|t| {
                #[allow(clippy::cast_possible_truncation)]
                t.map(|p| p.map(|v| v as f32))
            })
            .collect();
        crate::stl::tests::binary(&narrowed)
    }

    fn orient(bytes: &[u8], format: Format) -> Orientation {
        let size = bytes.len() as u64;
        flat_face_orientation(format, Cursor::new(bytes), size)
            .unwrap()
            .expect("an orientation")
    }

    /// Where the unit vector `n` points after the turn.
    fn turned(o: &Orientation, n: [f64; 3]) -> [f64; 3] {
        rotated_axes(o.rotate_x_deg, o.rotate_y_deg).map(|axis| dot(axis, n))
    }

    fn close(a: [f64; 3], b: [f64; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    #[test]
    fn a_plate_standing_on_its_edge_is_laid_flat() {
        // 40 × 4 × 30 mm: standing on a 40 × 4 edge; its large faces face ±Y.
        let o = orient(
            &stl(&box_triangles([0.0; 3], [40.0, 4.0, 30.0])),
            Format::StlBinary,
        );
        assert!((o.face_area_mm2 - 1200.0).abs() < 1e-6, "{o:?}");
        assert!(close(turned(&o, o.normal), [0.0, 0.0, -1.0]), "{o:?}");
        assert!((o.size[2] - 4.0).abs() < 1e-6, "{o:?}");
        let mut footprint = [o.size[0], o.size[1]];
        footprint.sort_by(f64::total_cmp);
        assert!((footprint[0] - 30.0).abs() < 1e-6 && (footprint[1] - 40.0).abs() < 1e-6);
        assert_eq!(o.rotate_y_deg, 0.0);
        assert_eq!(o.rotate_x_deg.abs(), 90.0);
    }

    #[test]
    fn a_model_on_its_largest_face_stays_as_it_is() {
        let o = orient(
            &stl(&box_triangles([0.0; 3], [40.0, 30.0, 4.0])),
            Format::StlBinary,
        );
        assert!(o.is_identity(), "{o:?}");
        assert!(close(o.size, [40.0, 30.0, 4.0]), "{o:?}");
    }

    #[test]
    fn a_face_on_its_side_turns_about_y() {
        // 4 × 30 × 40: the large faces face ±X.
        let o = orient(
            &stl(&box_triangles([0.0; 3], [4.0, 30.0, 40.0])),
            Format::StlBinary,
        );
        assert_eq!(o.rotate_x_deg, 0.0, "{o:?}");
        assert_eq!(o.rotate_y_deg.abs(), 90.0, "{o:?}");
        assert!((o.size[2] - 4.0).abs() < 1e-6, "{o:?}");
    }

    #[test]
    fn coplanar_parts_add_up() {
        // A low table: two 10 × 10 × 5 feet under a 30 × 6 × 2 top. Each foot's bottom alone
        // (100 mm²) is smaller than the top (180 mm²); together (200 mm²) they are the face.
        let mut t = box_triangles([0.0, 0.0, 0.0], [10.0, 10.0, 5.0]);
        t.extend(box_triangles([20.0, 0.0, 0.0], [30.0, 10.0, 5.0]));
        t.extend(box_triangles([0.0, 2.0, 5.0], [30.0, 8.0, 7.0]));
        let o = orient(&stl(&t), Format::StlBinary);
        assert!((o.face_area_mm2 - 200.0).abs() < 1e-6, "{o:?}");
        assert!(o.is_identity(), "{o:?}");
    }

    #[test]
    fn a_face_something_pokes_out_of_is_not_rested_on() {
        // A mushroom: a 60 × 10 × 2 cap on a 2 × 2 stem, a spike on the cap. The cap's top
        // (600 mm²) is the largest flat area but the spike pokes out above it; the cap's long
        // sides (120 mm²) are the largest faces it can rest on.
        let mut t = box_triangles([0.0, 0.0, 20.0], [60.0, 10.0, 22.0]);
        t.extend(box_triangles([29.0, 4.0, 0.0], [31.0, 6.0, 20.0]));
        let (a, b, c, apex) = (
            [20.0, 2.0, 22.0],
            [40.0, 2.0, 22.0],
            [30.0, 8.0, 22.0],
            [30.0, 5.0, 40.0],
        );
        t.extend([[a, c, b], [a, b, apex], [b, c, apex], [c, a, apex]]);
        let o = orient(&stl(&t), Format::StlBinary);
        assert!((o.face_area_mm2 - 120.0).abs() < 1e-6, "{o:?}");
        assert!((o.normal[1].abs() - 1.0).abs() < 1e-9, "{o:?}");
        assert!((o.size[2] - 10.0).abs() < 1e-6, "{o:?}");
    }

    #[test]
    fn obj_and_ascii_stl_are_read_alike() {
        let obj = "v 0 0 0\nv 40 0 0\nv 40 4 0\nv 0 4 0\nv 0 0 30\nv 40 0 30\nv 40 4 30\nv 0 4 30\n\
                   f 1 4 3 2\nf 5 6 7 8\nf 1 2 6 5\nf 4 8 7 3\nf 1 5 8 4\nf 2 3 7 6\n";
        let o = orient(obj.as_bytes(), Format::Obj);
        assert!((o.face_area_mm2 - 1200.0).abs() < 1e-6, "{o:?}");
        assert!((o.size[2] - 4.0).abs() < 1e-6, "{o:?}");
        let mut ascii = String::from("solid plate\n");
        for [a, b, c] in box_triangles([0.0; 3], [40.0, 4.0, 30.0]) {
            ascii.push_str("facet normal 0 0 0\nouter loop\n");
            for p in [a, b, c] {
                ascii.push_str(&format!("vertex {} {} {}\n", p[0], p[1], p[2]));
            }
            ascii.push_str("endloop\nendfacet\n");
        }
        ascii.push_str("endsolid plate\n");
        let o = orient(ascii.as_bytes(), Format::StlAscii);
        assert!((o.size[2] - 4.0).abs() < 1e-6, "{o:?}");
    }

    #[test]
    fn no_face_no_orientation() {
        let flat = stl(&[[[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]]]);
        let size = flat.len() as u64;
        assert_eq!(
            flat_face_orientation(Format::StlBinary, Cursor::new(flat), size),
            Ok(None)
        );
        assert_eq!(
            flat_face_orientation(Format::ThreeMf, Cursor::new(Vec::new()), 0),
            Ok(None)
        );
    }

    #[test]
    fn the_turn_puts_any_normal_down() {
        for n in [
            [0.0, 0.0, -1.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.6, 0.0, 0.8],
            [0.48, -0.6, 0.64],
        ] {
            let (x, y) = angles_to_put_down(n);
            let down = rotated_axes(x, y).map(|axis| dot(axis, n));
            assert!(close(down, [0.0, 0.0, -1.0]), "{n:?} → {down:?}");
        }
        assert_eq!(angles_to_put_down([0.0, 0.0, -1.0]), (0.0, 0.0));
    }
}
