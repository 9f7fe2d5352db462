//! Demo data for `farmhand serve --demo`: one organization with two sites, two printer models,
//! five simulated printers, a workgroup and one person per default rank, created once, so a
//! newcomer can sign in and look around.

use authz::Preset;
use domain::OrgId;
use domain::audit::Chain;
use serde_json::json;

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
        Ok(DemoInfo {
            org,
            created: true,
            accounts,
            password: DEMO_PASSWORD,
        })
    }
}
