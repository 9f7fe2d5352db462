//! A job's file as the checks read it: whether the actor may use it, and whether it suits a
//! printer model (size, material, nozzle), from the file's stored analysis.

use authz::Permission;
use domain::{FileId, PrinterModel};
use serde::Deserialize;
use store::JobFile;

use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::unit_of_work::{Found, UnitOfWork};

/// The parts of a file's analysis the checks need; everything else is ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FileFacts {
    #[serde(default)]
    bounds: Option<Bounds>,
    #[serde(default)]
    metadata: Metadata,
    /// How long it prints, by the analysis, in seconds.
    #[serde(default)]
    estimated_time_s: Option<f64>,
    /// The material one copy uses, g.
    #[serde(default)]
    filament_weight_g: f64,
}

#[derive(Debug, Deserialize)]
struct Bounds {
    min: [f64; 3],
    max: [f64; 3],
}

#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    filament_type: Vec<String>,
    #[serde(default)]
    nozzle_diameter_mm: Option<f64>,
}

/// Nozzle sizes closer than this are the same nozzle (slicers print 0.4 as 0.4 or 0.40).
const NOZZLE_TOLERANCE_MM: f64 = 0.01;

/// Why a file does not suit a printer model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unsuitable {
    pub code: ErrorCode,
    pub message: String,
}

impl FileFacts {
    /// One copy's estimated printing time, s.
    pub fn time_s(&self) -> f64 {
        self.estimated_s()
    }

    /// The material one copy uses, g.
    pub fn weight_g(&self) -> f64 {
        self.filament_weight_g
    }

    /// The (first extruder's) material the file is sliced for.
    pub fn material(&self) -> Option<&str> {
        self.metadata.filament_type.first().map(String::as_str)
    }

    pub fn parse(analysis: &str) -> AppResult<FileFacts> {
        serde_json::from_str(analysis).map_err(AppError::internal)
    }

    /// How long the file prints, by its analysis, in seconds (0 when unknown).
    pub fn estimated_s(&self) -> f64 {
        self.estimated_time_s
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(0.0)
    }

    /// Whether the file suits `model`: fits its build volume, uses materials it takes, was
    /// sliced for its nozzle. What the file or the model does not say is not held against it.
    pub fn suits(&self, model: &PrinterModel) -> Result<(), Unsuitable> {
        if let Some(bounds) = &self.bounds {
            let size: Vec<f64> = (0..3).map(|i| bounds.max[i] - bounds.min[i]).collect();
            let volume = model.build_volume_mm;
            let declared = volume.iter().all(|v| *v > 0.0);
            if declared && (0..3).any(|i| size[i] > volume[i] + f64::EPSILON) {
                return Err(Unsuitable {
                    code: ErrorCode::DoesNotFit,
                    message: format!(
                        "the print is {:.1} × {:.1} × {:.1} mm, larger than the {:.0} × {:.0} × {:.0} mm build volume of {}",
                        size[0], size[1], size[2], volume[0], volume[1], volume[2], model.name
                    ),
                });
            }
        }
        if !model.materials.is_empty() {
            let unsuited: Vec<&String> = self
                .metadata
                .filament_type
                .iter()
                .filter(|m| !model.materials.iter().any(|t| t.eq_ignore_ascii_case(m)))
                .collect();
            if let Some(material) = unsuited.first() {
                return Err(Unsuitable {
                    code: ErrorCode::MaterialMismatch,
                    message: format!(
                        "the file is sliced for {material}, which {} does not take (it takes {})",
                        model.name,
                        model.materials.join(", ")
                    ),
                });
            }
        }
        if let Some(nozzle) = self.metadata.nozzle_diameter_mm
            && model.nozzle_diameter_mm > 0.0
            && (nozzle - model.nozzle_diameter_mm).abs() > NOZZLE_TOLERANCE_MM
        {
            return Err(Unsuitable {
                code: ErrorCode::NozzleMismatch,
                message: format!(
                    "the file is sliced for a {nozzle} mm nozzle; {} has a {} mm nozzle",
                    model.name, model.nozzle_diameter_mm
                ),
            });
        }
        Ok(())
    }
}

/// Why the actor cannot use a file in a job, if they cannot: it must be theirs, in a project
/// they can see, or they manage everyone's files.
pub(crate) async fn unusable_because(
    conn: &mut store::Conn,
    actor: &OrgActor,
    file: &JobFile,
) -> AppResult<Option<String>> {
    if file.owner == actor.member_id() || actor.holds(Permission::FilesManageAll) {
        return Ok(None);
    }
    match file.project_id {
        Some(project) if store::project_visible_to(conn, project, actor.member_id()).await? => {
            Ok(None)
        }
        Some(_) => Ok(Some(format!(
            "the file {:?} is in a project you cannot see",
            file.name
        ))),
        None => Ok(Some(format!(
            "the file {:?} is in its owner's personal space",
            file.name
        ))),
    }
}

/// The file a submission names, if the actor may use it ("not found" otherwise, as if it did
/// not exist), with its analysis.
pub(crate) async fn usable_file(
    uow: &mut UnitOfWork,
    id: FileId,
) -> AppResult<(JobFile, FileFacts)> {
    let actor = uow.actor().clone();
    readable_gcode(uow.conn(), &actor, id).await
}

/// A G-code file the actor may use in a job, with its analysis' facts (see [`usable_file`]).
pub(crate) async fn readable_gcode(
    conn: &mut store::Conn,
    actor: &OrgActor,
    id: FileId,
) -> AppResult<(JobFile, FileFacts)> {
    let file = store::job_file(conn, actor.org(), id).await.found("file")?;
    if unusable_because(conn, actor, &file).await?.is_some() {
        return Err(AppError::not_found("file"));
    }
    if file.kind != domain::FileKind::Gcode.key() {
        return Err(AppError::conflict(
            ErrorCode::NotSliced,
            format!(
                "the file {:?} is a model, not G-code: slice it first and submit the G-code the slice makes",
                file.name
            ),
        ));
    }
    let facts = match &file.analysis {
        Some(analysis) => FileFacts::parse(analysis)?,
        None => {
            return Err(AppError::conflict(
                ErrorCode::FileNotReady,
                format!(
                    "the file {:?} is still being analyzed; submit it again in a moment",
                    file.name
                ),
            ));
        }
    };
    Ok((file, facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(materials: &[&str]) -> PrinterModel {
        PrinterModel {
            id: domain::PrinterModelId(1),
            name: "Mini".into(),
            description: String::new(),
            build_volume_mm: [180.0, 180.0, 180.0],
            nozzle_diameter_mm: 0.4,
            materials: materials.iter().map(|m| m.to_string()).collect(),
            motion: serde_json::json!({}),
            hourly_rate_minor: 0,
            created_at: domain::Timestamp::from_micros(0),
        }
    }

    fn facts(json: serde_json::Value) -> FileFacts {
        FileFacts::parse(&json.to_string()).unwrap()
    }

    #[test]
    fn files_suit_models_by_size_material_and_nozzle() {
        let small = facts(serde_json::json!({
            "bounds": {"min": [10.0, 10.0, 0.2], "max": [60.0, 60.0, 20.0]},
            "metadata": {"filament_type": ["PLA"], "nozzle_diameter_mm": 0.4}
        }));
        assert_eq!(small.suits(&model(&["PLA", "PETG"])), Ok(()));
        assert_eq!(small.suits(&model(&[])), Ok(()));
        let refusal = small.suits(&model(&["ABS"])).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::MaterialMismatch);
        assert!(
            refusal.message.contains("sliced for PLA"),
            "{}",
            refusal.message
        );

        let large = facts(serde_json::json!({
            "bounds": {"min": [0.0, 0.0, 0.0], "max": [250.0, 20.0, 20.0]}
        }));
        let refusal = large.suits(&model(&[])).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::DoesNotFit);
        assert!(
            refusal.message.contains("250.0 × 20.0 × 20.0"),
            "{}",
            refusal.message
        );

        let wide_nozzle = facts(serde_json::json!({"metadata": {"nozzle_diameter_mm": 0.6}}));
        assert_eq!(
            wide_nozzle.suits(&model(&[])).unwrap_err().code,
            ErrorCode::NozzleMismatch
        );
        assert_eq!(facts(serde_json::json!({})).suits(&model(&["PLA"])), Ok(()));
    }
}
