//! Auto-rotation on the models of the demo and tests (`crates/app/fixtures/models`): a model
//! standing on its side ends on its largest face; one lying on it already is left as it is.

// A test binary: a helper that fails stops the test with the cause.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use mesh::{Format, Orientation, flat_face_orientation};

fn orient(bytes: &[u8], format: Format) -> Orientation {
    flat_face_orientation(format, Cursor::new(bytes), bytes.len() as u64)
        .unwrap()
        .expect("the model has a face to rest on")
}

#[test]
fn a_plate_standing_on_its_edge_ends_on_its_largest_face() {
    let plate = include_bytes!("../../app/fixtures/models/plate_on_edge.stl");
    let info = mesh::read_stl(Cursor::new(&plate[..]), plate.len() as u64).unwrap();
    assert_eq!(info.size, [40.0, 4.0, 30.0]);
    let o = orient(plate, Format::StlBinary);
    assert!((o.face_area_mm2 - 40.0 * 30.0).abs() < 1e-3, "{o:?}");
    assert_eq!(o.rotate_x_deg.abs(), 90.0, "{o:?}");
    assert_eq!(o.rotate_y_deg, 0.0, "{o:?}");
    for (got, want) in o.size.iter().zip([40.0, 30.0, 4.0]) {
        assert!((got - want).abs() < 1e-3, "{o:?}");
    }
}

#[test]
fn models_on_their_largest_face_stay_as_they_are() {
    for (name, bytes, format, area) in [
        (
            "calibration_cube.stl",
            &include_bytes!("../../app/fixtures/models/calibration_cube.stl")[..],
            Format::StlBinary,
            400.0,
        ),
        (
            "pyramid.stl",
            &include_bytes!("../../app/fixtures/models/pyramid.stl")[..],
            Format::StlAscii,
            900.0,
        ),
        (
            "hex_prism.obj",
            &include_bytes!("../../app/fixtures/models/hex_prism.obj")[..],
            Format::Obj,
            // A regular hexagon 24 mm across its corners.
            1.5 * 3f64.sqrt() * 12.0 * 12.0,
        ),
    ] {
        let o = orient(bytes, format);
        assert!(o.is_identity(), "{name}: {o:?}");
        assert!((o.face_area_mm2 - area).abs() < 1e-2, "{name}: {o:?}");
    }
}

#[test]
fn a_3mf_places_its_objects_itself() {
    let parts = include_bytes!("../../app/fixtures/models/two_parts.3mf");
    assert_eq!(
        flat_face_orientation(Format::ThreeMf, Cursor::new(&parts[..]), parts.len() as u64),
        Ok(None)
    );
}
