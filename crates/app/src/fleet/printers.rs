//! Printers, printer models and printer groups as authorization needs them: listing shows
//! only printers the member can see, a hidden printer is "not found", and nobody can add or
//! move a printer to where they would not manage it.

use authz::{AccessLevel, Permission};
use domain::{
    DriverKind, Invalid, JobTarget, Name, OrgId, Printer, PrinterConnection, PrinterGroup,
    PrinterGroupId, PrinterId, PrinterModel, PrinterModelId, PrinterState, SiteId, Timestamp,
    parse_description,
};
use serde_json::json;

use super::Fleet;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode, on_conflict};
use crate::jobs;
use crate::unit_of_work::{Audit, Changes, Found};

/// A printer as written by the API (the `web` crate's wire type documents its rules).
#[derive(Debug)]
pub struct PrinterInput {
    pub name: String,
    pub site_id: SiteId,
    pub model_id: Option<PrinterModelId>,
    pub group_ids: Vec<PrinterGroupId>,
    /// How Farmhand reaches the printer (default: the built-in simulator).
    pub driver: DriverKind,
    /// OctoPrint's or Moonraker's base URL, `http://host:port`.
    pub url: String,
    /// Driver settings that are not secret. The simulator takes `speed` (time scale: above 0,
    /// at most 10,000; default 1) and `heat_up_s` (simulated seconds, 0 to 3,600; default 0);
    /// anything else is refused (422 naming `settings.speed`, `settings.heat_up_s` or
    /// `settings`).
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// OctoPrint's API key or Moonraker's API key: a string stores it (encrypted), `null`
    /// removes it, leaving it out keeps what is stored. It is never returned.
    pub credential: Option<Option<String>>,
}

/// Longest printer URL accepted, in characters as sent.
pub const MAX_PRINTER_URL_CHARS: usize = 2000;
/// Longest printer credential accepted, in characters as sent.
pub const MAX_PRINTER_CREDENTIAL_CHARS: usize = 4096;
/// The simulator's fastest time scale (`settings.speed`).
pub const MAX_SIMULATION_SPEED: f64 = printers::SimulationSettings::MAX_SPEED;
/// The simulator's longest heat-up (`settings.heat_up_s`), simulated seconds.
pub const MAX_SIMULATION_HEAT_UP_S: f64 = printers::SimulationSettings::MAX_HEAT_UP_S;

/// Nothing but whitespace (the simulator's URL).
pub const SIMULATOR_URL_PATTERN: &str = concat!("^[", domain::whitespace_class!(), "]*$");
/// An `http(s)://` URL without whitespace or control characters, once trimmed.
pub const PRINTER_URL_PATTERN: &str = concat!(
    "^[",
    domain::whitespace_class!(),
    "]*https?://[^",
    domain::control_or_whitespace_class!(),
    "]*[",
    domain::whitespace_class!(),
    "]*$"
);
/// Not blank once trimmed, no control characters anywhere.
pub const PRINTER_CREDENTIAL_PATTERN: &str = concat!(
    "^[^",
    domain::control_class!(),
    "]*[^",
    domain::control_or_whitespace_class!(),
    "][^",
    domain::control_class!(),
    "]*$"
);

/// A printer model as written by the API.
#[derive(Debug)]
pub struct PrinterModelInput {
    pub name: String,
    pub description: String,
    /// Build volume X, Y, Z in mm, each 0 to 10,000 (0 where unknown).
    pub build_volume_mm: [f64; 3],
    /// Default 0.4.
    pub nozzle_diameter_mm: f64,
    /// Materials it may print, at most 50; empty means any.
    pub materials: Vec<String>,
    /// Motion limits for the G-code estimator: fields of its printer profile, e.g.
    /// `{"firmware": "klipper", "klipper": {"max_accel": 5000}}` or `{"print_acceleration": 1500}`.
    /// Every limit must be a finite number in range: accelerations above 0 and at most
    /// 1,000,000 mm/s², speed limits above 0 and at most 10,000 mm/s, jerk and corner speeds
    /// 0 to 1,000 mm/s, junction deviation above 0 and at most 5 mm, minimum cruise ratio from
    /// 0 to below 1 (422 on `motion`, the message naming the limit).
    pub motion: serde_json::Map<String, serde_json::Value>,
    /// Price of an hour of machine time in minor units of the organization's currency.
    pub hourly_rate_minor: i64,
}

/// The estimator profile of a model: the built-in default with the model's motion fields over it,
/// every limit checked to be finite and in range ([`gcode::Profile::check`]).
pub fn motion_profile(
    motion: &serde_json::Map<String, serde_json::Value>,
) -> Result<gcode::Profile, String> {
    let mut merged = serde_json::to_value(gcode::Profile::default()).map_err(|e| e.to_string())?;
    if let Some(base) = merged.as_object_mut() {
        for (key, value) in motion {
            match (base.get_mut(key), value) {
                // Klipper's limits merge field by field (every field of theirs has a default);
                // any other field, the bed's box included, is given whole.
                (Some(serde_json::Value::Object(inner)), serde_json::Value::Object(update))
                    if key == "klipper" =>
                {
                    for (k, v) in update {
                        inner.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let profile: gcode::Profile = serde_json::from_value(merged).map_err(|e| e.to_string())?;
    // Zero, negative or absurd limits would make every estimate meaningless (or endless).
    profile.check().map_err(|e| e.to_string())?;
    Ok(profile)
}

/// A printer model's input that passed the checks.
struct CheckedModel {
    name: Name,
    description: String,
    motion: serde_json::Value,
}

impl CheckedModel {
    /// The row to store: the checked text with the input's numbers and lists.
    fn as_new<'a>(&'a self, input: &'a PrinterModelInput) -> store::NewPrinterModel<'a> {
        store::NewPrinterModel {
            name: self.name.as_str(),
            description: &self.description,
            build_volume_mm: input.build_volume_mm,
            nozzle_diameter_mm: input.nozzle_diameter_mm,
            materials: &input.materials,
            motion: &self.motion,
            hourly_rate_minor: input.hourly_rate_minor,
        }
    }
}

fn check_model_input(input: &PrinterModelInput) -> AppResult<CheckedModel> {
    let name = Name::parse("name", &input.name)?;
    let description = parse_description("description", &input.description)?;
    let invalid =
        |field: &'static str, message: String| AppError::Invalid(Invalid::new(field, message));
    if input
        .build_volume_mm
        .iter()
        .any(|v| !v.is_finite() || !(0.0..=10_000.0).contains(v))
    {
        return Err(invalid(
            "build_volume_mm",
            "each size must be between 0 and 10000 mm".into(),
        ));
    }
    if !(0.05..=5.0).contains(&input.nozzle_diameter_mm) {
        return Err(invalid(
            "nozzle_diameter_mm",
            "must be between 0.05 and 5 mm".into(),
        ));
    }
    if input.materials.len() > 50
        || input
            .materials
            .iter()
            .any(|m| m.trim().is_empty() || m.chars().count() > 40)
    {
        return Err(invalid(
            "materials",
            "at most 50 materials, each 1 to 40 characters".into(),
        ));
    }
    if input.hourly_rate_minor < 0 {
        return Err(invalid("hourly_rate_minor", "must not be negative".into()));
    }
    motion_profile(&input.motion).map_err(|e| invalid("motion", e))?;
    Ok(CheckedModel {
        name,
        description,
        motion: serde_json::Value::Object(input.motion.clone()),
    })
}

/// The simulator's settings must be ones it can run with: a positive, finite, bounded speed and
/// heat-up (a printer stored with `speed: 0` could never be driven).
fn check_simulation(input: &PrinterInput) -> AppResult<()> {
    if input.driver != DriverKind::Simulated {
        return Ok(());
    }
    let settings: printers::SimulationSettings =
        serde_json::from_value(serde_json::Value::Object(input.settings.clone()))
            .map_err(|e| AppError::Invalid(Invalid::new("settings", e.to_string())))?;
    settings.check().map_err(|(field, expected)| {
        let field = match field {
            "speed" => "settings.speed",
            "heat_up_s" => "settings.heat_up_s",
            _ => "settings",
        };
        AppError::Invalid(Invalid::new(field, format!("must be {expected}")))
    })
}

fn check_connection(input: &PrinterInput) -> AppResult<()> {
    if input.url.chars().count() > MAX_PRINTER_URL_CHARS {
        return Err(AppError::Invalid(Invalid::new(
            "url",
            format!("must be at most {MAX_PRINTER_URL_CHARS} characters"),
        )));
    }
    check_simulation(input)?;
    let url = input.url.trim();
    match input.driver {
        DriverKind::Simulated if !url.is_empty() => Err(AppError::Invalid(Invalid::new(
            "url",
            "the simulated printer has no URL",
        ))),
        DriverKind::Octoprint | DriverKind::Moonraker
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Err(AppError::Invalid(Invalid::new(
                "url",
                "needs the printer host's base URL, like http://192.168.1.20:7125",
            )))
        }
        _ => match &input.credential {
            Some(Some(_)) if input.driver == DriverKind::Simulated => Err(AppError::Invalid(
                Invalid::new("credential", "the simulated printer takes no credential"),
            )),
            Some(Some(secret))
                if secret.trim().is_empty()
                    || secret.chars().count() > MAX_PRINTER_CREDENTIAL_CHARS
                    || secret.chars().any(char::is_control) =>
            {
                Err(AppError::Invalid(Invalid::new(
                    "credential",
                    "must be 1 to 4096 printable characters (use null to remove it)",
                )))
            }
            _ => Ok(()),
        },
    }
}

#[derive(Debug)]
pub struct NamedInput {
    pub name: String,
    pub description: String,
}

/// A printer as a member sees it, with their access to it. Its connection (driver, URL,
/// settings) is there only for members who may edit the printer or change its settings: the
/// others see that the printer exists and what it does, not how Farmhand reaches it. The
/// printer's fields are listed one by one (not a whole [`Printer`]) so that nothing reaches a
/// member unless it is written here.
#[derive(Debug)]
pub struct VisiblePrinter {
    pub id: PrinterId,
    pub name: String,
    pub site_id: SiteId,
    pub model_id: Option<PrinterModelId>,
    pub group_ids: Vec<PrinterGroupId>,
    /// With `printers.edit` or `printers.settings` on the printer; `None` otherwise.
    pub connection: Option<PrinterConnection>,
    /// The last persisted state (the live one is in `live`).
    pub state: PrinterState,
    /// The error message, when the state is `error`.
    pub state_detail: String,
    pub state_since: Timestamp,
    pub maintenance: bool,
    pub bed_clear_pending: bool,
    /// The dispatcher starts the jobs it matches to it; off, they wait `assigned`.
    pub auto_start: bool,
    pub created_at: Timestamp,
    /// Your access: view, queue, print or manage.
    pub access: AccessLevel,
    /// What it is doing now (absent when Farmhand has no working connection to it).
    pub live: Option<crate::LiveStatus>,
}

/// Filters and page of the printer list, as given in the query string.
#[derive(Debug, Default)]
pub struct PrinterQuery {
    /// Only printers on this site.
    pub site_id: Option<SiteId>,
    /// Only printers in this group.
    pub group_id: Option<PrinterGroupId>,
    /// Only printers whose name contains this text (ASCII letters in either case; surrounding
    /// whitespace is ignored).
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<PrinterId>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// Longest name search accepted, in characters as sent (names themselves are shorter).
const MAX_NAME_SEARCH: usize = 200;

impl PrinterQuery {
    fn filter(&self) -> AppResult<store::PrinterFilter> {
        if self
            .q
            .as_ref()
            .is_some_and(|q| q.chars().count() > MAX_NAME_SEARCH)
        {
            return Err(AppError::Invalid(Invalid::new(
                "q",
                format!("must be at most {MAX_NAME_SEARCH} characters"),
            )));
        }
        let name_contains = self
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_owned);
        Ok(store::PrinterFilter {
            site: self.site_id,
            group: self.group_id,
            name_contains,
        })
    }
}

/// One page of the printers you can see.
#[derive(Debug)]
pub struct PrinterPage {
    pub printers: Vec<VisiblePrinter>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<PrinterId>,
}

/// Notes in the audit record that a credential was stored or removed (never its value).
fn with_credential_note(mut summary: serde_json::Value, input: &PrinterInput) -> serde_json::Value {
    let note = match &input.credential {
        Some(Some(_)) => "stored",
        Some(None) => "removed",
        None => return summary,
    };
    if let Some(object) = summary.as_object_mut() {
        object.insert("credential".into(), json!(note));
    }
    summary
}

fn printer_summary(printer: &Printer) -> serde_json::Value {
    json!({
        "name": printer.name,
        "site_id": printer.site_id,
        "model_id": printer.model_id,
        "group_ids": printer.group_ids,
        "driver": printer.connection.driver,
        "url": printer.connection.url,
        "settings": printer.connection.settings,
        "has_credential": printer.connection.has_credential,
    })
}

impl Fleet<'_> {
    /// A page of the printers the actor can see, in ID order. Printers are read from the store
    /// in ID order a batch at a time until the page is full, so a member who sees few of many
    /// printers still gets full pages.
    pub async fn list_printers(
        &self,
        actor: &OrgActor,
        query: &PrinterQuery,
    ) -> AppResult<PrinterPage> {
        actor.require(Permission::PrintersView)?;
        let limit = crate::paging::page_size(query.limit)?;
        let filter = query.filter()?;
        let wanted = limit as usize + 1;
        // One more than the page tells whether another follows; when many printers are hidden
        // from the actor, later batches grow so that a sparse page takes few queries.
        let mut batch = limit + 1;
        let mut conn = self.app.store().read().await?;
        let mut printers = Vec::with_capacity(wanted);
        let mut after = query.cursor;
        loop {
            let found =
                store::list_printers_after(&mut conn, actor.org(), &filter, after, batch).await?;
            let exhausted = found.len() < batch as usize;
            after = found.last().map(|p| p.id).or(after);
            printers.extend(
                found
                    .into_iter()
                    .filter_map(|printer| self.visible(actor, printer))
                    .take(wanted - printers.len()),
            );
            if printers.len() == wanted || exhausted {
                break;
            }
            batch = (batch * 2).min(4096);
        }
        let next_cursor = if printers.len() > limit as usize {
            printers.truncate(limit as usize);
            printers.last().map(|p| p.id)
        } else {
            None
        };
        Ok(PrinterPage {
            printers,
            next_cursor,
        })
    }

    /// Every printer the actor can see (the live event stream's first snapshot).
    pub async fn all_visible_printers(&self, actor: &OrgActor) -> AppResult<Vec<VisiblePrinter>> {
        actor.require(Permission::PrintersView)?;
        let mut conn = self.app.store().read().await?;
        let printers = store::list_printers(&mut conn, actor.org()).await?;
        Ok(printers
            .into_iter()
            .filter_map(|printer| self.visible(actor, printer))
            .collect())
    }

    /// The printer with the actor's access to it and its live state, if the actor can see it;
    /// its connection only if the actor may edit it or change its settings (the rights
    /// `update_printer` asks for).
    fn visible(&self, actor: &OrgActor, printer: Printer) -> Option<VisiblePrinter> {
        let access = actor
            .policy
            .printer_ix(printer.id)
            .map(|ix| actor.policy.rights(actor.ix).level(ix))
            .unwrap_or_default();
        if access == AccessLevel::None {
            return None;
        }
        let may_see_connection = actor.may_on_printer(Permission::PrintersEdit, printer.id)
            || actor.may_on_printer(Permission::PrintersSettings, printer.id);
        // Every field named: a field added to `Printer` must be decided on here.
        let Printer {
            id,
            name,
            site_id,
            model_id,
            group_ids,
            connection,
            state,
            state_detail,
            state_since,
            maintenance,
            bed_clear_pending,
            auto_start,
            created_at,
        } = printer;
        Some(VisiblePrinter {
            live: self.app.supervisors().status(id),
            id,
            name,
            site_id,
            model_id,
            group_ids,
            connection: may_see_connection.then_some(connection),
            state,
            state_detail,
            state_since,
            maintenance,
            bed_clear_pending,
            auto_start,
            created_at,
            access,
        })
    }

    pub async fn get_printer(&self, actor: &OrgActor, id: PrinterId) -> AppResult<VisiblePrinter> {
        actor.require_on_printer(Permission::PrintersView, id)?;
        let mut conn = self.app.store().read().await?;
        store::get_printer(&mut conn, actor.org(), id)
            .await?
            .and_then(|printer| self.visible(actor, printer))
            .ok_or(AppError::not_found("printer"))
    }

    pub async fn create_printer(
        &self,
        actor: &OrgActor,
        input: PrinterInput,
    ) -> AppResult<Printer> {
        let name = Name::parse("name", &input.name)?;
        check_connection(&input)?;
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::PrintersAdd)?;
        let (org, now) = (actor.org(), uow.now());
        check_placement(uow.conn(), org, &input).await?;
        let settings = serde_json::Value::Object(input.settings.clone());
        let id =
            store::insert_printer(uow.conn(), org, &new_printer(&name, &input, &settings), now)
                .await
                .map_err(name_taken("printer", name.as_str()))?;
        let placed = placement(id, &input);
        uow.authorize(|a| a.policy.may_place_printer(a.acting(), &placed))?;
        self.store_credential(uow.conn(), org, id, &input).await?;
        let printer = store::get_printer(uow.conn(), org, id)
            .await
            .found("printer")?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer.create", "printer", id)
                .after(with_credential_note(printer_summary(&printer), &input)),
        );
        uow.commit().await?;
        self.app.supervise(org, &printer).await?;
        Ok(printer)
    }

    pub async fn update_printer(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        input: PrinterInput,
    ) -> AppResult<Printer> {
        let name = Name::parse("name", &input.name)?;
        check_connection(&input)?;
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor()
            .require_on_printer(Permission::PrintersEdit, id)?;
        let org = actor.org();
        let before = store::get_printer(uow.conn(), org, id)
            .await
            .found("printer")?;
        let settings = serde_json::Value::Object(input.settings.clone());
        if before.connection.settings != settings {
            // Changing how the printer behaves is its own, rarer right.
            uow.actor()
                .require_on_printer(Permission::PrintersSettings, id)?;
        }
        check_placement(uow.conn(), org, &input).await?;
        let placed = placement(id, &input);
        uow.authorize(|a| a.policy.may_place_printer(a.acting(), &placed))?;
        store::update_printer(uow.conn(), org, id, &new_printer(&name, &input, &settings))
            .await
            .map_err(name_taken("printer", name.as_str()))?;
        self.store_credential(uow.conn(), org, id, &input).await?;
        let after = store::get_printer(uow.conn(), org, id)
            .await
            .found("printer")?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer.update", "printer", id)
                .before(printer_summary(&before))
                .after(with_credential_note(printer_summary(&after), &input)),
        );
        uow.commit().await?;
        // The driver restarts with the new connection settings.
        self.app.supervise(org, &after).await?;
        Ok(after)
    }

    /// Seals and stores the credential the input gives (or removes it when given as null).
    async fn store_credential(
        &self,
        conn: &mut store::Conn,
        org: OrgId,
        id: PrinterId,
        input: &PrinterInput,
    ) -> AppResult<()> {
        let Some(credential) = &input.credential else {
            return Ok(());
        };
        let sealed = credential
            .as_deref()
            .map(|secret| self.app.vault().seal(org, secret.trim()));
        store::set_printer_credential(conn, org, id, sealed.as_deref()).await?;
        Ok(())
    }

    pub async fn delete_printer(&self, actor: &OrgActor, id: PrinterId) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor()
            .require_on_printer(Permission::PrintersRemove, id)?;
        let before = store::get_printer(uow.conn(), actor.org(), id)
            .await
            .found("printer")?;
        let org = actor.org();
        jobs::refuse_if_jobs_aim_at(uow.conn(), org, JobTarget::Printer(id)).await?;
        store::detach_printer_from_finished_jobs(uow.conn(), org, id).await?;
        store::delete_printer(uow.conn(), org, id).await?;
        uow.rights_changed();
        uow.audit(Audit::of("printer.delete", "printer", id).before(printer_summary(&before)));
        uow.commit().await?;
        self.app.printer_removed(id);
        Ok(())
    }

    /// Whether the dispatcher starts the jobs it matches to the printer by itself (on), or
    /// they wait `assigned` until someone starts them (off). Needs `printers.settings`.
    pub async fn set_auto_start(
        &self,
        actor: &OrgActor,
        id: PrinterId,
        on: bool,
    ) -> AppResult<VisiblePrinter> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor()
            .require_on_printer(Permission::PrintersSettings, id)?;
        let org = actor.org();
        let before = store::get_printer(uow.conn(), org, id)
            .await
            .found("printer")?;
        store::set_printer_auto_start(uow.conn(), org, id, on).await?;
        uow.audit(
            Audit::of("printer.auto_start", "printer", id)
                .before(json!({ "auto_start": before.auto_start }))
                .after(json!({ "auto_start": on })),
        );
        uow.commit().await?;
        self.app.wake_dispatcher();
        self.get_printer(actor, id).await
    }

    pub async fn list_printer_models(&self, actor: &OrgActor) -> AppResult<Vec<PrinterModel>> {
        actor.require(Permission::PrintersView)?;
        Ok(store::list_printer_models(&mut *self.app.store().read().await?, actor.org()).await?)
    }

    pub async fn create_printer_model(
        &self,
        actor: &OrgActor,
        input: PrinterModelInput,
    ) -> AppResult<PrinterModel> {
        let checked = check_model_input(&input)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::PrinterModelsAdd)?;
        let (org, now) = (actor.org(), uow.now());
        let id = store::insert_printer_model(uow.conn(), org, &checked.as_new(&input), now)
            .await
            .map_err(name_taken("printer model", checked.name.as_str()))?;
        let model = store::get_printer_model(uow.conn(), org, id)
            .await
            .found("printer model")?;
        uow.audit(Audit::of("printer_model.create", "printer_model", id).after(json!(model)));
        uow.commit().await?;
        Ok(model)
    }

    pub async fn update_printer_model(
        &self,
        actor: &OrgActor,
        id: PrinterModelId,
        input: PrinterModelInput,
    ) -> AppResult<PrinterModel> {
        let checked = check_model_input(&input)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::PrinterModelsEdit)?;
        let org = actor.org();
        let before = store::get_printer_model(uow.conn(), org, id)
            .await
            .found("printer model")?;
        store::update_printer_model(uow.conn(), org, id, &checked.as_new(&input))
            .await
            .map_err(name_taken("printer model", checked.name.as_str()))?;
        let after = store::get_printer_model(uow.conn(), org, id)
            .await
            .found("printer model")?;
        uow.audit(
            Audit::of("printer_model.update", "printer_model", id)
                .before(json!(before))
                .after(json!(after)),
        );
        uow.commit().await?;
        // Printers of this model time their prints with its new limits.
        let printers = store::list_printers(&mut *self.app.store().read().await?, org).await?;
        for printer in printers.iter().filter(|p| p.model_id == Some(id)) {
            self.app.supervise(org, printer).await?;
        }
        Ok(after)
    }

    /// Removes a printer model; its printers keep working without one (their prints are then
    /// timed with the default limits). Models are in printer scopes and grants: rights change.
    pub async fn delete_printer_model(
        &self,
        actor: &OrgActor,
        id: PrinterModelId,
    ) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::PrinterModelsRemove)?;
        let model = store::get_printer_model(uow.conn(), actor.org(), id)
            .await
            .found("printer model")?;
        jobs::refuse_if_jobs_aim_at(uow.conn(), actor.org(), JobTarget::Model(id)).await?;
        store::delete_printer_model(uow.conn(), actor.org(), id).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer_model.delete", "printer_model", id)
                .before(json!({ "name": model.name })),
        );
        uow.commit().await
    }

    pub async fn list_printer_groups(&self, actor: &OrgActor) -> AppResult<Vec<PrinterGroup>> {
        actor.require(Permission::PrintersView)?;
        Ok(store::list_printer_groups(&mut *self.app.store().read().await?, actor.org()).await?)
    }

    pub async fn create_printer_group(
        &self,
        actor: &OrgActor,
        input: NamedInput,
    ) -> AppResult<PrinterGroup> {
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::PrinterGroupsAdd)?;
        let (org, now) = (actor.org(), uow.now());
        let id = store::insert_printer_group(uow.conn(), org, name.as_str(), &description, now)
            .await
            .map_err(name_taken("printer group", name.as_str()))?;
        let group = store::get_printer_group(uow.conn(), org, id)
            .await
            .found("printer group")?;
        uow.audit(
            Audit::of("printer_group.create", "printer_group", id)
                .after(json!({ "name": group.name })),
        );
        uow.commit().await?;
        Ok(group)
    }

    pub async fn update_printer_group(
        &self,
        actor: &OrgActor,
        id: PrinterGroupId,
        input: NamedInput,
    ) -> AppResult<PrinterGroup> {
        let name = Name::parse("name", &input.name)?;
        let description = parse_description("description", &input.description)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::PrinterGroupsEdit)?;
        let org = actor.org();
        let before = store::get_printer_group(uow.conn(), org, id)
            .await
            .found("printer group")?;
        store::update_printer_group(uow.conn(), org, id, name.as_str(), &description)
            .await
            .map_err(name_taken("printer group", name.as_str()))?;
        let after = store::get_printer_group(uow.conn(), org, id)
            .await
            .found("printer group")?;
        uow.audit(
            Audit::of("printer_group.update", "printer_group", id)
                .before(json!(before))
                .after(json!(after)),
        );
        uow.commit().await?;
        Ok(after)
    }

    /// Removes a printer group (its printers stay). Groups are in printer scopes and grants:
    /// rights change.
    pub async fn delete_printer_group(
        &self,
        actor: &OrgActor,
        id: PrinterGroupId,
    ) -> AppResult<()> {
        let mut uow = self.app.begin(actor, Changes::Rights).await?;
        uow.actor().require(Permission::PrinterGroupsRemove)?;
        let group = store::get_printer_group(uow.conn(), actor.org(), id)
            .await
            .found("printer group")?;
        jobs::refuse_if_jobs_aim_at(uow.conn(), actor.org(), JobTarget::Group(id)).await?;
        store::delete_printer_group(uow.conn(), actor.org(), id).await?;
        uow.rights_changed();
        uow.audit(
            Audit::of("printer_group.delete", "printer_group", id)
                .before(json!({ "name": group.name })),
        );
        uow.commit().await
    }
}

/// The site, model and groups a printer is put in must be the organization's.
async fn check_placement(
    conn: &mut store::Conn,
    org: OrgId,
    input: &PrinterInput,
) -> AppResult<()> {
    store::get_site(conn, org, input.site_id)
        .await
        .found("site")?;
    if let Some(model) = input.model_id {
        store::get_printer_model(conn, org, model)
            .await
            .found("printer model")?;
    }
    for group in &input.group_ids {
        store::get_printer_group(conn, org, *group)
            .await
            .found("printer group")?;
    }
    Ok(())
}

/// Where `input` puts printer `id`, as authorization sees printers.
fn placement(id: PrinterId, input: &PrinterInput) -> authz::Printer {
    authz::Printer {
        id,
        site: input.site_id,
        model: input.model_id,
        groups: input.group_ids.clone(),
    }
}

fn new_printer<'a>(
    name: &'a Name,
    input: &'a PrinterInput,
    settings: &'a serde_json::Value,
) -> store::NewPrinter<'a> {
    store::NewPrinter {
        name: name.as_str(),
        site: input.site_id,
        model: input.model_id,
        groups: &input.group_ids,
        driver: input.driver,
        url: input.url.trim(),
        settings,
    }
}

fn name_taken(what: &'static str, name: &str) -> impl FnOnce(store::StoreError) -> AppError {
    on_conflict(
        ErrorCode::NameTaken,
        format!("a {what} named {name:?} already exists"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{edge_strings, fits};

    fn printer(driver: DriverKind, url: &str, credential: Option<&str>) -> PrinterInput {
        PrinterInput {
            name: "P".into(),
            site_id: SiteId(1),
            model_id: None,
            group_ids: Vec::new(),
            driver,
            url: url.into(),
            settings: serde_json::Map::new(),
            credential: credential.map(|c| Some(c.to_string())),
        }
    }

    #[test]
    fn printer_urls_and_credentials_are_documented_as_checked() {
        for text in edge_strings() {
            let simulated = check_connection(&printer(DriverKind::Simulated, &text, None));
            assert_eq!(
                simulated.is_ok(),
                fits(&text, SIMULATOR_URL_PATTERN, MAX_PRINTER_URL_CHARS),
                "simulator URL {text:?}"
            );
            let networked = check_connection(&printer(DriverKind::Octoprint, &text, None));
            assert_eq!(
                networked.is_ok(),
                fits(&text, PRINTER_URL_PATTERN, MAX_PRINTER_URL_CHARS),
                "URL {text:?}"
            );
            let url = "http://printer.local";
            let credential = check_connection(&printer(DriverKind::Moonraker, url, Some(&text)));
            assert_eq!(
                credential.is_ok(),
                fits(
                    &text,
                    PRINTER_CREDENTIAL_PATTERN,
                    MAX_PRINTER_CREDENTIAL_CHARS
                ),
                "credential {text:?}"
            );
        }
    }

    fn model(materials: Vec<String>, motion: serde_json::Value) -> PrinterModelInput {
        PrinterModelInput {
            name: "M".into(),
            description: String::new(),
            build_volume_mm: [0.0; 3],
            nozzle_diameter_mm: 0.4,
            materials,
            motion: motion.as_object().cloned().unwrap_or_default(),
            hourly_rate_minor: 0,
        }
    }

    #[test]
    fn materials_are_documented_as_checked() {
        for text in edge_strings() {
            let checked = check_model_input(&model(vec![text.clone()], json!({})));
            assert_eq!(
                checked.is_ok(),
                fits(&text, domain::schema::NOT_BLANK_PATTERN, 40),
                "{text:?}"
            );
        }
    }

    #[test]
    fn motion_limits_are_documented_as_checked() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(gcode::Profile::schema()).unwrap();
        let klipper = serde_json::to_value(gcode::KlipperLimits::schema()).unwrap();
        // Every number the schema bounds, just inside and just outside each bound, is
        // accepted or refused as the schema says.
        let mut probed = 0;
        for (prefix, properties) in [
            ("", &schema["properties"]),
            ("klipper.", &klipper["properties"]),
        ] {
            for (field, property) in properties.as_object().unwrap() {
                let bounds = if property["type"] == "array" {
                    &property["items"]
                } else {
                    property
                };
                let at = |value: f64| -> serde_json::Value {
                    let value = if bounds["type"] == "integer" {
                        json!(value as i64)
                    } else {
                        json!(value)
                    };
                    let value = if property["type"] == "array" {
                        json!(vec![value; property["minItems"].as_u64().unwrap() as usize])
                    } else {
                        value
                    };
                    if prefix.is_empty() {
                        json!({ field.as_str(): value })
                    } else {
                        json!({ "klipper": { field.as_str(): value } })
                    }
                };
                let accepts = |value: f64| check_model_input(&model(Vec::new(), at(value))).is_ok();
                let step = |v: f64| {
                    if v.fract() == 0.0 && bounds["type"] == "integer" {
                        1.0
                    } else {
                        v.abs().max(1.0) * 1e-9
                    }
                };
                for (key, inside, outside) in [
                    ("minimum", 0.0, -1.0),
                    ("exclusiveMinimum", 1.0, 0.0),
                    ("maximum", 0.0, 1.0),
                    ("exclusiveMaximum", -1.0, 0.0),
                ] {
                    let Some(bound) = bounds[key].as_f64() else {
                        continue;
                    };
                    let (inside, outside) =
                        (bound + inside * step(bound), bound + outside * step(bound));
                    assert!(
                        accepts(inside),
                        "{prefix}{field}: {inside} is within {key} {bound}"
                    );
                    assert!(
                        !accepts(outside),
                        "{prefix}{field}: {outside} is beyond {key} {bound}"
                    );
                    probed += 1;
                }
            }
        }
        assert!(probed >= 40, "only {probed} bounds documented");
        // Only Klipper's limits merge into the default; the bed's box is given whole.
        let partial_bed = json!({ "bed": { "min": [0.0, 0.0, 0.0] } });
        assert!(check_model_input(&model(Vec::new(), partial_bed)).is_err());
        let partial_klipper = json!({ "firmware": "klipper", "klipper": { "max_accel": 5000.0 } });
        assert!(check_model_input(&model(Vec::new(), partial_klipper)).is_ok());
    }
}
