//! 3MF: a ZIP package whose model parts (`3D/*.model`: one, or one per object as Bambu Studio
//! and PrusaSlicer write them) are XML: `<object><mesh><vertices><vertex x y z/>…</vertices>
//! <triangles><triangle v1 v2 v3/>…</triangles></mesh></object>`. Each part is inflated and read
//! as a stream of XML events; what inflates past [`MAX_INFLATED_BYTES`] or holds a run of more
//! than [`MAX_LINE_BYTES`] without a tag is refused, so memory stays small whatever the package.

use std::io::{BufReader, Read, Seek};

use quick_xml::events::Event;

use crate::{
    Bounds, Error, Format, MAX_FACETS, MAX_INFLATED_BYTES, MAX_LINE_BYTES, ModelInfo, coordinate,
    grow, malformed,
};

const THREE_MF: &str = "3MF model";

/// More entries than any real 3MF package has.
const MAX_ENTRIES: usize = 100_000;

/// The inflated bytes of a part, counted against what is left of the package's allowance, and
/// refused when a run without `<` grows past [`MAX_LINE_BYTES`] (the XML reader would hold it
/// all at once).
struct Guard<R> {
    inner: R,
    left: u64,
    since_tag: usize,
    overrun: Option<Error>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let counted = u64::try_from(n).unwrap_or(u64::MAX);
        if counted > self.left {
            self.overrun = Some(Error::TooLarge);
            return Err(std::io::Error::other("inflates too far"));
        }
        self.left -= counted;
        for byte in &buf[..n] {
            if *byte == b'<' {
                self.since_tag = 0;
            } else {
                self.since_tag += 1;
                if self.since_tag > MAX_LINE_BYTES {
                    self.overrun = Some(Error::LineTooLong);
                    return Err(std::io::Error::other("run without a tag"));
                }
            }
        }
        Ok(n)
    }
}

/// What one part adds up to.
#[derive(Default)]
struct Tally {
    facets: u64,
    objects: u32,
    bounds: Option<Bounds>,
    size: [f64; 3],
}

pub fn read_3mf<R: Read + Seek>(input: R) -> Result<ModelInfo, Error> {
    let mut archive = zip::ZipArchive::new(input).map_err(|e| Error::NotZip(e.to_string()))?;
    if archive.len() > MAX_ENTRIES {
        return Err(malformed(
            THREE_MF,
            format!("the package has more than {MAX_ENTRIES} entries"),
        ));
    }
    let mut tally = Tally::default();
    let mut parts = 0u32;
    let mut left = MAX_INFLATED_BYTES;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| malformed(THREE_MF, format!("entry {i}: {e}")))?;
        let name = entry.name().to_ascii_lowercase();
        if !(name.starts_with("3d/") && name.ends_with(".model")) || entry.is_dir() {
            continue;
        }
        parts += 1;
        let guard = Guard {
            inner: entry,
            left,
            since_tag: 0,
            overrun: None,
        };
        left = read_part(guard, &mut tally)?;
    }
    if parts == 0 {
        return Err(Error::No3mfModel);
    }
    let bounds = match tally.bounds {
        Some(b) if tally.facets > 0 => b,
        _ => return Err(Error::NoFacets("3MF model")),
    };
    Ok(ModelInfo {
        format: Format::ThreeMf,
        facets: tally.facets,
        objects: tally.objects,
        bounds,
        size: tally.size,
    })
}

/// Reads one model part into `tally`; returns what is left of the inflation allowance.
fn read_part<R: Read>(guard: Guard<R>, tally: &mut Tally) -> Result<u64, Error> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(64 * 1024, guard));
    let mut buf = Vec::new();
    // The object being read: its box and triangles.
    let mut object: Option<(Option<Bounds>, u64)> = None;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => {
                let guard = reader.get_mut().get_mut();
                return Err(guard
                    .overrun
                    .take()
                    .unwrap_or_else(|| malformed(THREE_MF, format!("invalid XML: {e}"))));
            }
        };
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"object" if object.is_none() => object = Some((None, 0)),
                b"object" => {
                    return Err(malformed(THREE_MF, "an object inside another object"));
                }
                b"vertex" => {
                    let Some((bounds, _)) = object.as_mut() else {
                        return Err(malformed(THREE_MF, "a vertex outside an object"));
                    };
                    let mut p = [None; 3];
                    for attribute in e.attributes() {
                        let attribute = attribute
                            .map_err(|e| malformed(THREE_MF, format!("invalid attribute: {e}")))?;
                        let axis = match attribute.key.local_name().as_ref() {
                            b"x" => 0,
                            b"y" => 1,
                            b"z" => 2,
                            _ => continue,
                        };
                        let text = std::str::from_utf8(&attribute.value).unwrap_or_default();
                        let value: f64 = text.trim().parse().map_err(|_| {
                            malformed(
                                THREE_MF,
                                format!(
                                    "a vertex coordinate {:?} is not a number",
                                    text.chars().take(40).collect::<String>()
                                ),
                            )
                        })?;
                        p[axis] = Some(coordinate(THREE_MF, value)?);
                    }
                    let [Some(x), Some(y), Some(z)] = p else {
                        return Err(malformed(THREE_MF, "a vertex needs x, y and z"));
                    };
                    grow(bounds, [x, y, z]);
                    grow(&mut tally.bounds, [x, y, z]);
                }
                b"triangle" => {
                    let Some((_, triangles)) = object.as_mut() else {
                        return Err(malformed(THREE_MF, "a triangle outside an object"));
                    };
                    *triangles += 1;
                    tally.facets += 1;
                    if tally.facets > MAX_FACETS {
                        return Err(Error::TooManyFacets);
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"object" => {
                if let Some((Some(bounds), triangles)) = object.take()
                    && triangles > 0
                {
                    tally.objects = tally.objects.saturating_add(1);
                    for (axis, extent) in bounds.size().into_iter().enumerate() {
                        tally.size[axis] = tally.size[axis].max(extent);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(reader.get_ref().get_ref().left)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    pub(crate) fn package(parts: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for (name, body) in parts {
            zip.start_file(
                *name,
                zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored),
            )
            .unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    const TETRA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <resources>
  <object id="1" type="model"><mesh>
   <vertices><vertex x="0" y="0" z="0"/><vertex x="10" y="0" z="0"/><vertex x="0" y="10" z="0"/><vertex x="0" y="0" z="10"/></vertices>
   <triangles><triangle v1="0" v2="2" v3="1"/><triangle v1="0" v2="1" v3="3"/><triangle v1="1" v2="2" v3="3"/><triangle v1="0" v2="3" v3="2"/></triangles>
  </mesh></object>
  <object id="2" type="model"><mesh>
   <vertices><vertex x="100" y="100" z="0"/><vertex x="105" y="100" z="0"/><vertex x="100" y="130" z="2"/></vertices>
   <triangles><triangle v1="0" v2="1" v3="2"/></triangles>
  </mesh></object>
 </resources>
 <build><item objectid="1"/><item objectid="2"/></build>
</model>"#;

    #[test]
    fn objects_facets_and_the_largest_object() {
        let bytes = package(&[
            ("[Content_Types].xml", "<Types/>"),
            ("3D/3dmodel.model", TETRA),
        ]);
        let info = read_3mf(Cursor::new(bytes)).unwrap();
        assert_eq!(info.format, Format::ThreeMf);
        assert_eq!(info.facets, 5);
        assert_eq!(info.objects, 2);
        assert_eq!(info.size, [10.0, 30.0, 10.0]);
        assert_eq!(info.bounds.max, [105.0, 130.0, 10.0]);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            read_3mf(Cursor::new(b"solid x\n".to_vec())),
            Err(Error::NotZip(_))
        ));
        let no_model = package(&[("readme.txt", "hi")]);
        assert_eq!(read_3mf(Cursor::new(no_model)), Err(Error::No3mfModel));
        let empty = package(&[(
            "3D/3dmodel.model",
            "<model><resources><object id=\"1\"><mesh><vertices/><triangles/></mesh></object></resources></model>",
        )]);
        assert_eq!(
            read_3mf(Cursor::new(empty)),
            Err(Error::NoFacets("3MF model"))
        );
        let broken = package(&[(
            "3D/3dmodel.model",
            "<model><resources><object id=\"1\"><mesh><vertices><vertex x=\"a\" y=\"0\" z=\"0\"/></vertices></mesh></object></resources></model>",
        )]);
        assert!(matches!(
            read_3mf(Cursor::new(broken)),
            Err(Error::Malformed { .. })
        ));
        let long = format!("<model>{}</model>", "a".repeat(MAX_LINE_BYTES + 1));
        let long = package(&[("3D/3dmodel.model", &long)]);
        assert_eq!(read_3mf(Cursor::new(long)), Err(Error::LineTooLong));
    }
}
