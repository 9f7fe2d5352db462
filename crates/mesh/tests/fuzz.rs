//! No input panics the model readers (nor auto-rotation, on what they accept), and what they
//! accept is sane: facets within the limit, finite sizes that are not negative. Inputs are random bytes and mutations (flipped,
//! dropped, inserted bytes; a wrong triangle count) of valid STL, OBJ and 3MF files.
//!
//! A normal test run tries a few hundred inputs. The long run (issue 17: at least 10 minutes)
//! is the ignored test, for as many seconds as `MESH_FUZZ_SECS` says:
//! `MESH_FUZZ_SECS=660 cargo test --release -p mesh --test fuzz -- --ignored --nocapture`.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use mesh::{Format, ModelInfo};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn stl_binary() -> Vec<u8> {
    let mut out = vec![0u8; 80];
    out.extend_from_slice(&2u32.to_le_bytes());
    for t in [
        [[0f32, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0]],
        [[0.0, 0.0, 5.0], [10.0, 0.0, 5.0], [0.0, 10.0, 5.0]],
    ] {
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

const STL_ASCII: &[u8] = b"solid t\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 5 0 0\n   vertex 0 5 2.5\n  endloop\n endfacet\nendsolid t\n";
const OBJ: &[u8] = b"v 0 0 0\nv 10 0 0\nv 10 10 0\nv 0 10 3\nf 1 2 3 4\nf -1 -2 -3\n";
const MODEL: &str = r#"<model><resources><object id="1"><mesh><vertices><vertex x="0" y="0" z="0"/><vertex x="10" y="0" z="0"/><vertex x="0" y="10" z="4"/></vertices><triangles><triangle v1="0" v2="1" v3="2"/></triangles></mesh></object></resources></model>"#;

fn three_mf(model: &[u8]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let _ = zip.start_file("3D/3dmodel.model", stored);
    let _ = zip.write_all(model);
    let _ = zip.finish();
    out.into_inner()
}

fn seeds() -> Vec<(Format, Vec<u8>)> {
    vec![
        (Format::StlBinary, stl_binary()),
        (Format::StlAscii, STL_ASCII.to_vec()),
        (Format::Obj, OBJ.to_vec()),
        (Format::ThreeMf, three_mf(MODEL.as_bytes())),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Drop(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Drop(i, n)),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..32),
                Just(b"nan".to_vec()),
                Just(b"1e400".to_vec()),
                Just(b"-0".to_vec()),
                Just(b" f 1 2 99999\n".to_vec()),
                Just(b"<object>".to_vec()),
                Just(b"</object>".to_vec()),
                Just(b"facet ".to_vec()),
                Just(b"vertex 1 2 3\n".to_vec()),
                Just(vec![0xFF, 0xFF, 0xFF, 0x7F]),
            ]
        )
            .prop_map(|(i, bytes)| Mutation::Insert(i, bytes)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match m {
            Mutation::Flip(i, b) => {
                if let Some(byte) = bytes.get_mut(i % len) {
                    *byte ^= b;
                }
            }
            Mutation::Drop(i, n) => {
                let start = (i % len).min(bytes.len());
                let end = start.saturating_add(*n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(i, insert) => {
                let at = (i % len).min(bytes.len());
                bytes.splice(at..at, insert.iter().copied());
            }
            Mutation::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

fn sane(info: &ModelInfo) {
    assert!(info.facets > 0 && info.facets <= mesh::MAX_FACETS);
    for axis in 0..3 {
        assert!(
            info.size[axis].is_finite() && info.size[axis] >= 0.0,
            "{info:?}"
        );
        assert!(info.bounds.min[axis] <= info.bounds.max[axis], "{info:?}");
    }
}

/// Every reader on the bytes, as each format; none may panic.
fn check(bytes: &[u8]) {
    let size = bytes.len() as u64;
    for format in [
        Format::StlBinary,
        Format::StlAscii,
        Format::Obj,
        Format::ThreeMf,
    ] {
        if let Ok(info) = mesh::read(format, Cursor::new(bytes), size) {
            sane(&info);
            // What the reader takes, auto-rotation reads too, to a finite turn and size.
            if let Ok(Some(o)) = mesh::flat_face_orientation(format, Cursor::new(bytes), size) {
                assert!(
                    o.rotate_x_deg.is_finite() && o.rotate_y_deg.is_finite(),
                    "{o:?}"
                );
                assert!(o.size.iter().all(|v| v.is_finite() && *v >= 0.0), "{o:?}");
                assert!(o.face_area_mm2 > 0.0, "{o:?}");
            }
        }
    }
    if let Ok(info) = mesh::read_stl(Cursor::new(bytes), size) {
        sane(&info);
    }
}

fn strategy() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (0..seeds.len(), proptest::collection::vec(mutation(), 1..6))
            .prop_map(move |(i, ms)| apply(seeds[i].1.clone(), &ms)),
        // A 3MF whose model part is mutated (the archive itself intact).
        proptest::collection::vec(mutation(), 1..6)
            .prop_map(|ms| three_mf(&apply(MODEL.as_bytes().to_vec(), &ms))),
    ]
}

#[test]
fn the_seeds_read() {
    for (format, bytes) in seeds() {
        let info = mesh::read(format, Cursor::new(&bytes), bytes.len() as u64).unwrap();
        sane(&info);
        assert_eq!(info.format, format);
    }
}

proptest! {
    #[test]
    fn no_input_panics(bytes in strategy()) {
        check(&bytes);
    }
}

/// The long run: `MESH_FUZZ_SECS` seconds (default 600) of fresh random inputs.
#[test]
#[ignore = "the long fuzzing run; see the module documentation"]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("MESH_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut inputs: u64 = 0;
    let mut round: u64 = 0;
    while Instant::now() < deadline {
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: 10_000,
                failure_persistence: None,
                ..Config::default()
            },
            proptest::test_runner::TestRng::from_seed(
                proptest::test_runner::RngAlgorithm::ChaCha,
                &{
                    let mut seed = [0u8; 32];
                    seed[..8].copy_from_slice(&round.to_le_bytes());
                    seed
                },
            ),
        );
        runner
            .run(&strategy(), |bytes| {
                check(&bytes);
                Ok(())
            })
            .unwrap();
        inputs += 10_000;
        round += 1;
    }
    println!("{inputs} inputs in {secs} s, none panicked");
}
