//! Demo data for `farmhand serve --demo`: one organization with two sites, two printer models,
//! five simulated printers, a workgroup, one person per default rank and a library project of
//! small sliced files with thumbnails and models to slice (with slicing profiles for each
//! printer model), created once, so a newcomer can sign in and look around.

use authz::Preset;
use bytes::Bytes;
use domain::audit::Chain;
use domain::{
    ContentHash, FileKind, MemberId, OrgId, PrinterModelId, ShareLevel, ShareSubject, WorkgroupId,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::Console;
use crate::access::preset_positions;
use crate::actor::console_event;
use crate::actor::with_change;
use crate::error::AppResult;

pub const DEMO_ORG_NAME: &str = "Farmhand Demo Lab";
/// Everyone in the demo shares this password; the demo is for trying Farmhand, not for use.
pub const DEMO_PASSWORD: &str = "farmhand-demo";
const DEMO_EMAIL_DOMAIN: &str = "demo.farmhand.test";
const DEMO_SITES: [(&str, &str); 2] = [
    (
        "North Campus Lab",
        "Ground floor, building 4: the teaching lab.",
    ),
    (
        "Downtown Makerspace",
        "The community space on Market Street.",
    ),
];
const DEMO_WORKGROUP: &str = "Design Studio 101";
const DEMO_PROJECT: &str = "Studio prototypes";
/// Small G-code files (crates/app/fixtures/demo, written by make.py there), each with a
/// thumbnail: (file name, content).
const DEMO_FILES: [(&str, &[u8]); 3] = [
    (
        "calibration_cube.gcode",
        include_bytes!("../fixtures/demo/calibration_cube.gcode"),
    ),
    (
        "cable_clip.gcode",
        include_bytes!("../fixtures/demo/cable_clip.gcode"),
    ),
    (
        "tiny_cone.gcode",
        include_bytes!("../fixtures/demo/tiny_cone.gcode"),
    ),
];

/// Models to slice (crates/app/fixtures/models, written by make.py there): (file name, kind,
/// content).
const DEMO_MODEL_FILES: [(&str, FileKind, &[u8]); 4] = [
    (
        "calibration_cube.stl",
        FileKind::Stl,
        include_bytes!("../fixtures/models/calibration_cube.stl"),
    ),
    (
        "pyramid.stl",
        FileKind::Stl,
        include_bytes!("../fixtures/models/pyramid.stl"),
    ),
    (
        "hex_prism.obj",
        FileKind::Obj,
        include_bytes!("../fixtures/models/hex_prism.obj"),
    ),
    (
        "two_parts.3mf",
        FileKind::ThreeMf,
        include_bytes!("../fixtures/models/two_parts.3mf"),
    ),
];

/// A demo slicing profile: name suffix, material, PrusaSlicer settings.
type DemoProfile = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Slicing profiles of each demo printer model. The first is the model's default.
const DEMO_PROFILES: [DemoProfile; 3] = [
    (
        "PLA standard",
        "PLA",
        &[
            ("layer_height", "0.2"),
            ("first_layer_height", "0.2"),
            ("fill_density", "15%"),
            ("temperature", "215"),
            ("first_layer_temperature", "215"),
            ("bed_temperature", "60"),
            ("first_layer_bed_temperature", "60"),
        ],
    ),
    (
        "PLA draft",
        "PLA",
        &[
            ("layer_height", "0.3"),
            ("first_layer_height", "0.3"),
            ("fill_density", "10%"),
            ("perimeters", "2"),
            ("temperature", "215"),
            ("bed_temperature", "60"),
        ],
    ),
    (
        "PETG standard",
        "PETG",
        &[
            ("layer_height", "0.2"),
            ("fill_density", "20%"),
            ("temperature", "240"),
            ("first_layer_temperature", "240"),
            ("bed_temperature", "80"),
            ("first_layer_bed_temperature", "80"),
        ],
    ),
];

/// A printer model of the demo: name, description, build volume, materials, estimator limits,
/// hourly rate (minor units).
struct DemoModel {
    name: &'static str,
    description: &'static str,
    build_volume_mm: [f64; 3],
    materials: &'static [&'static str],
    motion: fn() -> serde_json::Value,
    hourly_rate_minor: i64,
}

const DEMO_MODELS: [DemoModel; 2] = [
    DemoModel {
        name: "Prusa MK4",
        description: "Bed slinger, Marlin-style firmware.",
        build_volume_mm: [250.0, 210.0, 220.0],
        materials: &["PLA", "PETG", "TPU"],
        motion: || json!({ "print_acceleration": 2000.0, "travel_acceleration": 2500.0 }),
        hourly_rate_minor: 120,
    },
    DemoModel {
        name: "Voron 2.4",
        description: "Enclosed CoreXY running Klipper.",
        build_volume_mm: [350.0, 350.0, 340.0],
        materials: &["PLA", "PETG", "ABS", "ASA"],
        motion: || json!({ "firmware": "klipper", "klipper": { "max_accel": 7000.0, "max_velocity": 400.0 } }),
        hourly_rate_minor: 250,
    },
];

/// Demo printers: (name, site index, model index). Simulated, running 60 times faster than life.
const DEMO_PRINTERS: [(&str, usize, usize); 5] = [
    ("MK4 North 1", 0, 0),
    ("MK4 North 2", 0, 0),
    ("Voron North", 0, 1),
    ("MK4 Downtown", 1, 0),
    ("Voron Downtown", 1, 1),
];

/// What the demo holds, for printing the sign-in details.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    pub org: OrgId,
    pub created: bool,
    /// (rank name, email) for each demo account.
    pub accounts: Vec<(String, String)>,
    pub password: &'static str,
}

pub fn demo_email(rank_name: &str) -> String {
    format!("{}@{DEMO_EMAIL_DOMAIN}", rank_name.to_lowercase())
}

impl Console<'_> {
    /// Creates the demo organization unless it already exists.
    pub async fn ensure_demo(&self) -> AppResult<DemoInfo> {
        let accounts = Preset::Farmhand
            .ranks()
            .iter()
            .map(|r| (r.name.to_string(), demo_email(r.name)))
            .collect();
        let existing = {
            let mut conn = self.app.store().read().await?;
            store::find_org_by_name(&mut conn, DEMO_ORG_NAME).await?
        };
        if let Some(org) = existing {
            return Ok(DemoInfo {
                org: org.id,
                created: false,
                accounts,
                password: DEMO_PASSWORD,
            });
        }

        let hash = self.app.hasher().hash(DEMO_PASSWORD).await?;
        let now = self.app.now();
        let mut uow = self.app.begin_unattributed().await?;
        let org = store::insert_org(uow.conn(), DEMO_ORG_NAME, "Europe/Berlin", "EUR", now).await?;
        let chain = Chain::Org(org);
        let event = console_event(
            chain,
            now,
            "organization.create",
            "organization",
            org.to_string(),
        );
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "name": DEMO_ORG_NAME, "demo": true })),
        ));

        let mut sites = Vec::new();
        for (name, description) in DEMO_SITES {
            let site = store::insert_site(uow.conn(), org, name, description, None, now).await?;
            let event = console_event(chain, now, "site.create", "site", site.to_string());
            uow.audit_event(with_change(event, None, Some(json!({ "name": name }))));
            sites.push(site);
        }

        let mut models = Vec::new();
        for model in &DEMO_MODELS {
            let materials: Vec<String> = model.materials.iter().map(|m| m.to_string()).collect();
            let motion = (model.motion)();
            let new = store::NewPrinterModel {
                name: model.name,
                description: model.description,
                build_volume_mm: model.build_volume_mm,
                nozzle_diameter_mm: 0.4,
                materials: &materials,
                motion: &motion,
                hourly_rate_minor: model.hourly_rate_minor,
            };
            let id = store::insert_printer_model(uow.conn(), org, &new, now).await?;
            let event = console_event(
                chain,
                now,
                "printer_model.create",
                "printer_model",
                id.to_string(),
            );
            uow.audit_event(with_change(
                event,
                None,
                Some(json!({ "name": model.name })),
            ));
            models.push(id);
            // Temperatures are locked in the demo's profiles: only ranks with
            // `slicer.override_locks` change them.
            let locked = vec!["temperature".to_string(), "bed_temperature".to_string()];
            for (suffix, material, values) in DEMO_PROFILES {
                let name = format!("{} {suffix}", model.name);
                let settings = values
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let new = store::NewSlicerProfile {
                    name: &name,
                    printer_model_id: id,
                    material,
                    settings: &settings,
                    locked: &locked,
                };
                if let Some(profile) =
                    store::insert_slicer_profile(uow.conn(), org, &new, now).await?
                {
                    let event = console_event(
                        chain,
                        now,
                        "slicer_profile.create",
                        "slicer_profile",
                        profile.to_string(),
                    );
                    uow.audit_event(with_change(event, None, Some(json!({ "name": name }))));
                }
            }
        }
        let settings = json!({ "speed": 60.0 });
        for (name, site, model) in DEMO_PRINTERS {
            let new = store::NewPrinter {
                name,
                site: sites[site],
                model: Some(models[model]),
                groups: &[],
                driver: domain::DriverKind::Simulated,
                url: "",
                settings: &settings,
            };
            let id = store::insert_printer(uow.conn(), org, &new, now).await?;
            let event = console_event(chain, now, "printer.create", "printer", id.to_string());
            uow.audit_event(with_change(
                event,
                None,
                Some(json!({ "name": name, "driver": "simulated" })),
            ));
        }

        let workgroup = store::insert_workgroup(
            uow.conn(),
            org,
            DEMO_WORKGROUP,
            "First-year design students.",
            now,
        )
        .await?;
        let event = console_event(
            chain,
            now,
            "workgroup.create",
            "workgroup",
            workgroup.to_string(),
        );
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "name": DEMO_WORKGROUP })),
        ));

        let ranks = store::insert_preset_ranks(
            uow.conn(),
            org,
            Preset::Farmhand,
            &preset_positions(Preset::Farmhand)?,
            now,
        )
        .await?;
        let mut library_owner = None;
        let mut members_by_rank = std::collections::HashMap::new();
        for (index, (rank, rank_id)) in ranks.into_iter().enumerate() {
            let email = demo_email(rank.name);
            let user = match store::find_user_by_email(uow.conn(), &email).await? {
                Some(account) => account.user.id,
                None => {
                    let name = format!("Demo {}", rank.name);
                    store::insert_user(uow.conn(), &email, &name, &hash, false, now).await?
                }
            };
            let site = sites.get(index % sites.len()).copied();
            let member = store::insert_member(uow.conn(), org, user, rank_id, site, now).await?;
            if rank.name == "Member" {
                library_owner = Some(member);
            }
            members_by_rank.insert(rank.name, member);
            let event = console_event(chain, now, "member.add", "member", member.to_string());
            uow.audit_event(with_change(
                event,
                None,
                Some(json!({ "email": email, "rank": rank.name })),
            ));
            // The workgroup: the manager moderates it; the member and guest are in it.
            let in_workgroup = match rank.name {
                "Manager" => Some(true),
                "Member" | "Guest" => Some(false),
                _ => None,
            };
            if let Some(moderator) = in_workgroup {
                store::upsert_workgroup_member(uow.conn(), workgroup, member, moderator, now)
                    .await?;
                let event = console_event(
                    chain,
                    now,
                    "workgroup.member_set",
                    "workgroup",
                    workgroup.to_string(),
                );
                let after = json!({ "member_id": member, "moderator": moderator });
                uow.audit_event(with_change(event, None, Some(after)));
            }
        }
        uow.commit().await?;
        if let (Some(owner), Some(model)) = (library_owner, models.first()) {
            let files = self.demo_library(org, owner, workgroup, *model).await?;
            let jobs = self.demo_queue(org, &files, &members_by_rank).await?;
            self.demo_money(org, &jobs, &members_by_rank).await?;
        }
        Ok(DemoInfo {
            org,
            created: true,
            accounts,
            password: DEMO_PASSWORD,
        })
    }

    /// The Member's library project, shared with the workgroup at edit, holding the demo
    /// files (analysed with the first model's motion limits, contents in the blob store).
    async fn demo_library(
        &self,
        org: OrgId,
        owner: MemberId,
        workgroup: WorkgroupId,
        model: PrinterModelId,
    ) -> AppResult<Vec<domain::FileId>> {
        let profile = {
            let mut conn = self.app.store().read().await?;
            let model = store::get_printer_model(&mut conn, org, model).await?;
            let motion = model
                .and_then(|m| m.motion.as_object().cloned())
                .unwrap_or_default();
            crate::fleet::motion_profile(&motion).unwrap_or_default()
        };
        let mut analysed = Vec::new();
        for (name, bytes) in DEMO_FILES {
            let hash = ContentHash::from_digest(Sha256::digest(bytes).into());
            self.app
                .settings()
                .blobs
                .put_bytes(org, &hash, Bytes::from_static(bytes))
                .await?;
            let analysis =
                crate::files::analysis::analyse_bytes(bytes, profile.clone(), Some(model)).await?;
            analysed.push((name, bytes.len() as u64, hash, analysis));
        }
        let now = self.app.now();
        let chain = Chain::Org(org);
        let mut uow = self.app.begin_unattributed().await?;
        let mut file_ids = Vec::new();
        let project = store::insert_project(uow.conn(), org, DEMO_PROJECT, owner, now).await?;
        let event = console_event(chain, now, "project.create", "project", project.to_string());
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "name": DEMO_PROJECT, "owner_member_id": owner })),
        ));
        let share = ShareSubject::Workgroup(workgroup);
        store::set_project_share(uow.conn(), project, share, ShareLevel::Edit).await?;
        let event = console_event(chain, now, "project.share", "project", project.to_string());
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "workgroup_id": workgroup, "level": "edit" })),
        ));
        for (name, size, hash, analysed) in &analysed {
            let thumbnails: Vec<store::NewThumbnail<'_>> = analysed
                .analysis
                .thumbnails
                .iter()
                .zip(&analysed.images)
                .map(|(info, data)| store::NewThumbnail {
                    format: &info.format,
                    width: info.width,
                    height: info.height,
                    data,
                })
                .collect();
            store::insert_blob(uow.conn(), org, hash, *size, &thumbnails, now).await?;
            let new = store::NewFile {
                name,
                sha256: hash,
                size: *size,
                kind: FileKind::Gcode,
                owner,
                project: Some(project),
                analysis: Some(&analysed.analysis),
                model: None,
                sliced_from: None,
            };
            let file = store::insert_file(uow.conn(), org, &new, now).await?;
            file_ids.push(file);
            let event = console_event(chain, now, "file.upload", "file", file.to_string());
            uow.audit_event(with_change(
                event,
                None,
                Some(json!({ "name": name, "sha256": hash, "size": size, "project_id": project })),
            ));
        }
        for (name, kind, bytes) in DEMO_MODEL_FILES {
            let size = bytes.len() as u64;
            let format = match kind {
                FileKind::ThreeMf => mesh::Format::ThreeMf,
                FileKind::Obj => mesh::Format::Obj,
                _ => mesh::Format::StlBinary,
            };
            let info = match format {
                mesh::Format::StlBinary => mesh::read_stl(std::io::Cursor::new(bytes), size),
                other => mesh::read(other, std::io::Cursor::new(bytes), size),
            }
            .map_err(|e| crate::AppError::internal(std::io::Error::other(e.to_string())))?;
            let facts = domain::ModelFacts {
                format: info.format.key().to_string(),
                facets: info.facets,
                objects: info.objects,
                bounds: domain::FileBounds {
                    min: info.bounds.min,
                    max: info.bounds.max,
                },
                size_mm: info.size,
            };
            let hash = ContentHash::from_digest(Sha256::digest(bytes).into());
            self.app
                .settings()
                .blobs
                .put_bytes(org, &hash, Bytes::from_static(bytes))
                .await?;
            store::insert_blob(uow.conn(), org, &hash, size, &[], now).await?;
            let new = store::NewFile {
                name,
                sha256: &hash,
                size,
                kind,
                owner,
                project: Some(project),
                analysis: None,
                model: Some(&facts),
                sliced_from: None,
            };
            let file = store::insert_file(uow.conn(), org, &new, now).await?;
            let event = console_event(chain, now, "file.upload", "file", file.to_string());
            uow.audit_event(with_change(
                event,
                None,
                Some(json!({ "name": name, "sha256": hash, "size": size, "project_id": project })),
            ));
        }
        uow.commit().await?;
        Ok(file_ids)
    }

    /// Approval on, two submission questions, and jobs in the states a queue shows before the
    /// dispatcher runs: waiting for approval (the Member's and the Guest's), queued, sent back
    /// and rejected with their reasons, cancelled; and in history, one printed and one failed
    /// on the first printer. Each with its timeline and audit events. (Jobs assigned to,
    /// printing on or paused at a printer come with the dispatcher, which drives the printers.)
    async fn demo_queue(
        &self,
        org: OrgId,
        files: &[domain::FileId],
        members: &std::collections::HashMap<&str, MemberId>,
    ) -> AppResult<Vec<(domain::JobId, MemberId, domain::JobState)>> {
        use domain::{JobEvent, JobState as S, JobStep, JobTarget, QuestionKind};
        let (Some(member), Some(guest), Some(manager)) = (
            members.get("Member").copied(),
            members.get("Guest").copied(),
            members.get("Manager").copied(),
        ) else {
            return Ok(Vec::new());
        };
        let mut made = Vec::new();
        let now = self.app.now();
        let chain = Chain::Org(org);
        let mut uow = self.app.begin_unattributed().await?;
        let mut organization = store::get_org(uow.conn(), org)
            .await?
            .ok_or(crate::AppError::not_found("organization"))?;
        organization.approval_required = true;
        store::update_org(uow.conn(), &organization).await?;
        let event = console_event(
            chain,
            now,
            "organization.approval",
            "organization",
            org.to_string(),
        );
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "approval_required": true })),
        ));
        let course = store::QuestionFields {
            label: "Course or project",
            kind: QuestionKind::Choice,
            required: true,
            choices: &[
                "ME101 Intro to Design".into(),
                "ME202 Mechanisms".into(),
                "Personal".into(),
            ],
        };
        let purpose = store::QuestionFields {
            label: "What is it for?",
            kind: QuestionKind::Text,
            required: false,
            choices: &[],
        };
        let course_id = store::insert_question(uow.conn(), org, &course, now).await?;
        store::insert_question(uow.conn(), org, &purpose, now).await?;
        let printer = store::list_printers(uow.conn(), org)
            .await?
            .first()
            .map(|p| p.id);
        let jobs: [(MemberId, S, Option<&str>); 8] = [
            (member, S::PendingApproval, None),
            (guest, S::PendingApproval, None),
            (member, S::Queued, None),
            (
                guest,
                S::SentBack,
                Some("Please add a brim: the base is too small to stay down."),
            ),
            (
                guest,
                S::Rejected,
                Some("Not course work; personal prints are on Fridays."),
            ),
            (member, S::Cancelled, None),
            (member, S::Completed, None),
            (
                guest,
                S::Failed,
                Some("The print came loose from the bed at layer 12."),
            ),
        ];
        for (index, (owner, state, reason)) in jobs.into_iter().enumerate() {
            let file = files[index % files.len()];
            let new = store::NewJob {
                owner,
                file,
                target: JobTarget::Any,
                state: S::PendingApproval,
                priority: 0,
                copies: 1,
                note: "",
                reprint_of: None,
                idempotency: None,
            };
            let job = store::insert_job(uow.conn(), org, &new, now).await?.id;
            made.push((job, owner, state));
            let answer = domain::AnswerValue::Text("ME101 Intro to Design".into());
            store::add_answers(uow.conn(), job, &[(course_id, answer)].into()).await?;
            let mut steps = vec![(
                JobStep::Submitted,
                Some(owner),
                None,
                S::PendingApproval,
                None,
            )];
            match state {
                S::Queued => steps.push((
                    JobStep::Approved,
                    Some(manager),
                    Some(S::PendingApproval),
                    S::Queued,
                    None,
                )),
                S::SentBack => steps.push((
                    JobStep::SentBack,
                    Some(manager),
                    Some(S::PendingApproval),
                    S::SentBack,
                    reason,
                )),
                S::Rejected => steps.push((
                    JobStep::Rejected,
                    Some(manager),
                    Some(S::PendingApproval),
                    S::Rejected,
                    reason,
                )),
                S::Cancelled => steps.push((
                    JobStep::Cancelled,
                    Some(owner),
                    Some(S::PendingApproval),
                    S::Cancelled,
                    None,
                )),
                S::Completed | S::Failed => {
                    let end = if state == S::Completed {
                        JobStep::Completed
                    } else {
                        JobStep::Failed
                    };
                    steps.extend([
                        (
                            JobStep::Approved,
                            Some(manager),
                            Some(S::PendingApproval),
                            S::Queued,
                            None,
                        ),
                        (JobStep::Assigned, None, Some(S::Queued), S::Assigned, None),
                        (JobStep::Started, None, Some(S::Assigned), S::Printing, None),
                        (end, None, Some(S::Printing), state, reason),
                    ]);
                }
                _ => {}
            }
            for (step, actor, from, to, reason) in steps {
                if let Some(from) = from {
                    let change = store::JobStateChange {
                        from,
                        to,
                        reason,
                        printer: (to == S::Assigned).then_some(printer).flatten(),
                    };
                    store::change_job_state(uow.conn(), org, job, &change, now).await?;
                }
                let event = JobEvent {
                    job_id: job,
                    step,
                    at: now,
                    actor_member_id: actor,
                    from_state: from,
                    to_state: to,
                    reason: reason.map(str::to_string),
                    detail: json!({}),
                };
                store::append_job_event(uow.conn(), org, &event).await?;
                let audit = console_event(chain, now, "job.demo", "job", job.to_string());
                let after = json!({ "step": step.key(), "state": to.key() });
                uow.audit_event(with_change(audit, None, Some(after)));
            }
        }
        uow.commit().await?;
        Ok(made)
    }

    /// Quotas and money: organization defaults (ten prints and ten printing hours a week, three
    /// jobs at once), a tighter allowance for the Guest that the next submission runs into,
    /// prices, what the demo jobs count and cost, the Member's balance with its history, and a
    /// pending quota request quoting the refusal that prompted it.
    async fn demo_money(
        &self,
        org: OrgId,
        jobs: &[(domain::JobId, MemberId, domain::JobState)],
        members: &std::collections::HashMap<&str, MemberId>,
    ) -> AppResult<()> {
        use domain::JobState as S;
        use domain::money::{Cost, LedgerKind, Price};
        use domain::quotas::{Allowance, QuotaKind, QuotaPeriod, Usage};
        let (Some(member), Some(guest), Some(manager)) = (
            members.get("Member").copied(),
            members.get("Guest").copied(),
            members.get("Manager").copied(),
        ) else {
            return Ok(());
        };
        let now = self.app.now();
        let chain = Chain::Org(org);
        let mut uow = self.app.begin_unattributed().await?;
        let week = Some(QuotaPeriod::Week);
        let defaults = [
            Allowance {
                kind: QuotaKind::Prints,
                period: week,
                limit: 10,
            },
            Allowance {
                kind: QuotaKind::PrintingHours,
                period: week,
                limit: 10,
            },
            Allowance {
                kind: QuotaKind::MaxActiveJobs,
                period: None,
                limit: 3,
            },
        ];
        store::replace_allowances(
            uow.conn(),
            org,
            store::AllowanceLevel::Organization,
            &defaults,
        )
        .await?;
        // The Guest's three demo jobs that count use it up.
        let tight = [Allowance {
            kind: QuotaKind::Prints,
            period: week,
            limit: 3,
        }];
        store::replace_allowances(
            uow.conn(),
            org,
            store::AllowanceLevel::Member(guest),
            &tight,
        )
        .await?;
        let prices = [Price {
            printer_model_id: None,
            material: None,
            per_gram_minor: 3,
            per_hour_minor: 100,
            flat_fee_minor: 50,
        }];
        store::replace_prices(uow.conn(), org, &prices).await?;
        let event = console_event(chain, now, "quota.set", "organization", org.to_string());
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "allowances": "demo defaults", "guest": "3 prints a week" })),
        ));
        let top_up = store::NewLedgerEntry {
            member,
            kind: LedgerKind::TopUp,
            amount_minor: 2000,
            hold_minor: 0,
            job: None,
            actor: Some(manager),
            reason: "Semester printing credit",
        };
        store::append_ledger(uow.conn(), org, &top_up, now).await?;
        // Each demo job: 18 g and 40 minutes, 2.71 all told.
        let cost = Cost::of(prices.first(), Some("PLA"), 18, 2400);
        let estimate = serde_json::to_string(&cost).map_err(crate::AppError::internal)?;
        for (job, owner, state) in jobs.iter().copied() {
            let released = matches!(state, S::Rejected | S::Cancelled);
            let ended = matches!(state, S::Completed | S::Failed);
            let held = if released || ended || owner != member {
                0
            } else {
                cost.total_minor
            };
            let usage = store::JobUsage {
                job_id: job,
                run: 1,
                member_id: owner,
                counted_at: now,
                print_seconds: 2400,
                usage: if released {
                    Usage::default()
                } else {
                    Usage {
                        prints: 1,
                        seconds: 2400,
                        grams: 18,
                        cost_minor: cost.total_minor,
                    }
                },
                estimate: estimate.clone(),
                final_cost: (released || ended).then(|| {
                    if released {
                        "{\"total_minor\":0,\"lines\":[]}".to_string()
                    } else {
                        estimate.clone()
                    }
                }),
                held_minor: held,
            };
            store::insert_job_usage(uow.conn(), org, &usage).await?;
            if owner != member {
                continue;
            }
            let reason = format!("hold for job {job}");
            let hold = store::NewLedgerEntry {
                member,
                kind: LedgerKind::Hold,
                amount_minor: 0,
                hold_minor: cost.total_minor,
                job: Some(job),
                actor: Some(member),
                reason: &reason,
            };
            store::append_ledger(uow.conn(), org, &hold, now).await?;
            if ended {
                let reason = format!("job {job} {state}");
                let charge = store::NewLedgerEntry {
                    kind: LedgerKind::Charge,
                    amount_minor: -cost.total_minor,
                    hold_minor: 0,
                    reason: &reason,
                    actor: None,
                    ..hold.clone()
                };
                store::append_ledger(uow.conn(), org, &charge, now).await?;
            }
            if released || ended {
                let reason = format!("release for job {job}");
                let release = store::NewLedgerEntry {
                    kind: LedgerKind::Release,
                    hold_minor: -cost.total_minor,
                    reason: &reason,
                    ..hold.clone()
                };
                store::append_ledger(uow.conn(), org, &release, now).await?;
            }
        }
        let adjustment = store::NewLedgerEntry {
            member,
            kind: LedgerKind::Adjustment,
            amount_minor: -150,
            hold_minor: 0,
            job: None,
            actor: Some(manager),
            reason: "Filament spool damaged by misuse",
        };
        store::append_ledger(uow.conn(), org, &adjustment, now).await?;
        let request = store::NewQuotaRequest {
            member: guest,
            kind: QuotaKind::Prints,
            period: week,
            requested_limit: 6,
            reason: "My bracket was refused: \"You have used 3 prints of your 3 prints this \
                     week; this job needs 1 print; the week resets on Monday at 00:00\". I need \
                     three more for the ME101 assignment.",
        };
        store::insert_quota_request(uow.conn(), org, &request, now).await?;
        let event = console_event(
            chain,
            now,
            "quota_request.create",
            "member",
            guest.to_string(),
        );
        uow.audit_event(with_change(
            event,
            None,
            Some(json!({ "kind": "prints", "limit": 6 })),
        ));
        uow.commit().await
    }
}
