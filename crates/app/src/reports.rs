//! Reports: usage and spend per member, workgroup, printer or printer model, over a stretch of
//! time and optionally per day, week or month of the organization's calendar, as rows or CSV.
//!
//! A job counts in the period of its submission with what it counts against its owner's
//! allowances (its estimate while it waits, what printed once it ended; released jobs count
//! nothing and are left out). Per workgroup, a job counts for every workgroup its owner is in
//! (so workgroups' rows may add up to more than the organization's), and under "no workgroup"
//! when its owner is in none. Per printer and printer model, a job not yet on a printer counts
//! under "not printed yet".
//!
//! A report may be narrowed to the jobs of one site, member, workgroup, printer and printer
//! model, any of them together: a job counts when it matches every filter given (a site,
//! printer or model filter only matches jobs already on a printer).

use std::collections::{BTreeMap, HashMap};

use authz::Permission;
use domain::quotas::{Calendar, QuotaPeriod, Usage};
use domain::{Invalid, MemberId, PrinterId, PrinterModelId, SiteId, Timestamp, WorkgroupId};
use serde_json::json;

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult};
use crate::unit_of_work::Found;

/// The longest stretch a report covers.
pub const MAX_REPORT_DAYS: i64 = 400;

/// What a report's rows are per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportGroup {
    Member,
    Workgroup,
    Printer,
    PrinterModel,
}

impl ReportGroup {
    pub fn key(self) -> &'static str {
        match self {
            ReportGroup::Member => "member",
            ReportGroup::Workgroup => "workgroup",
            ReportGroup::Printer => "printer",
            ReportGroup::PrinterModel => "printer_model",
        }
    }
}

/// A report to make.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub group_by: ReportGroup,
    /// Rows per day, week or month as well; `None`: one row per group for the whole stretch.
    pub period: Option<QuotaPeriod>,
    /// From (included); default: the start of the current month.
    pub from: Option<Timestamp>,
    /// To (excluded); default: the end of the current month.
    pub to: Option<Timestamp>,
    /// Only the jobs that match all of these.
    pub only: ReportFilter,
}

/// Which jobs a report counts: those matching every filter given (none: all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Jobs on a printer of this site.
    pub site: Option<SiteId>,
    /// Jobs of this member.
    pub member: Option<MemberId>,
    /// Jobs of the members of this workgroup.
    pub workgroup: Option<WorkgroupId>,
    /// Jobs on this printer.
    pub printer: Option<PrinterId>,
    /// Jobs on a printer of this model.
    pub printer_model: Option<PrinterModelId>,
}

impl ReportFilter {
    /// The filters given, as the audit records them.
    fn summary(&self) -> serde_json::Value {
        json!({
            "site_id": self.site,
            "member_id": self.member,
            "workgroup_id": self.workgroup,
            "printer_id": self.printer,
            "printer_model_id": self.printer_model,
        })
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The member, workgroup, printer or printer model; `None` for "no workgroup" or "not
    /// printed yet".
    pub id: Option<i64>,
    pub name: String,
    /// The start of the row's day, week or month, when the report is per period.
    pub period_start: Option<Timestamp>,
    pub jobs: i64,
    pub usage: Usage,
}

/// A report.
#[derive(Debug, Clone)]
pub struct Report {
    pub group_by: ReportGroup,
    pub from: Timestamp,
    pub to: Timestamp,
    pub currency: String,
    pub time_zone: String,
    pub rows: Vec<ReportRow>,
}

/// The CSV header of a report.
pub const REPORT_CSV_HEADER: [&str; 9] = [
    "group",
    "id",
    "name",
    "period_start",
    "jobs",
    "prints",
    "printing_hours",
    "material_grams",
    "cost_minor",
];

impl App {
    /// Usage and spend (`billing.view_reports`).
    pub async fn usage_report(&self, actor: &OrgActor, query: ReportQuery) -> AppResult<Report> {
        actor.require(Permission::BillingViewReports)?;
        let org = actor.org();
        let mut conn = self.store().read().await?;
        let settings = store::get_org(&mut conn, org).await.found("organization")?;
        let calendar = Calendar::or_utc(&settings.time_zone);
        let month = calendar
            .window(QuotaPeriod::Month, self.now(), None)
            .map_err(AppError::internal)?;
        let from = query.from.unwrap_or(month.start);
        let to = query.to.unwrap_or(month.end);
        if to < from {
            return Err(Invalid::new("to", "must not be before from").into());
        }
        if from.seconds_until(to) > MAX_REPORT_DAYS * 86_400 {
            return Err(Invalid::new(
                "to",
                format!("a report covers at most {MAX_REPORT_DAYS} days"),
            )
            .into());
        }
        let facts = store::usage_facts(&mut conn, org, from, to).await?;
        let names = store::member_names(&mut conn, org).await?;
        let printers = store::list_printers(&mut conn, org).await?;
        let models = store::list_printer_models(&mut conn, org).await?;
        let (groups, memberships) =
            if query.group_by == ReportGroup::Workgroup || query.only.workgroup.is_some() {
                (
                    store::list_workgroups(&mut conn, org).await?,
                    store::workgroup_memberships(&mut conn, org).await?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
        drop(conn);
        let printer_of: HashMap<_, _> = printers.iter().map(|p| (p.id, p)).collect();
        let model_name: HashMap<_, _> = models.iter().map(|m| (m.id, m.name.clone())).collect();
        let group_name: HashMap<_, _> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
        let only = query.only;
        let matches = |fact: &store::UsageFact| {
            let printer = fact.printer_id.and_then(|p| printer_of.get(&p));
            only.member.is_none_or(|m| m == fact.member_id)
                && only
                    .workgroup
                    .is_none_or(|w| memberships.contains(&(w, fact.member_id)))
                && only.printer.is_none_or(|p| fact.printer_id == Some(p))
                && only
                    .site
                    .is_none_or(|s| printer.is_some_and(|p| p.site_id == s))
                && only
                    .printer_model
                    .is_none_or(|m| printer.is_some_and(|p| p.model_id == Some(m)))
        };
        let mut rows: BTreeMap<(Option<i64>, Option<i64>), ReportRow> = BTreeMap::new();
        for fact in facts.iter().filter(|fact| matches(fact)) {
            let period_start = match query.period {
                Some(period) => Some(
                    calendar
                        .window(period, fact.counted_at, None)
                        .map_err(AppError::internal)?
                        .start,
                ),
                None => None,
            };
            let keys: Vec<(Option<i64>, String)> = match query.group_by {
                ReportGroup::Member => vec![(
                    Some(fact.member_id.get()),
                    names.get(&fact.member_id).cloned().unwrap_or_default(),
                )],
                ReportGroup::Workgroup => {
                    let mine: Vec<(Option<i64>, String)> = memberships
                        .iter()
                        .filter(|(_, m)| *m == fact.member_id)
                        .map(|(g, _)| {
                            (
                                Some(g.get()),
                                group_name.get(g).cloned().unwrap_or_default(),
                            )
                        })
                        .collect();
                    if mine.is_empty() {
                        vec![(None, "no workgroup".to_string())]
                    } else {
                        mine
                    }
                }
                ReportGroup::Printer => match fact.printer_id.and_then(|p| printer_of.get(&p)) {
                    Some(printer) => vec![(Some(printer.id.get()), printer.name.clone())],
                    None => vec![(None, "not printed yet".to_string())],
                },
                ReportGroup::PrinterModel => {
                    let model = fact
                        .printer_id
                        .and_then(|p| printer_of.get(&p))
                        .and_then(|p| p.model_id);
                    match model {
                        Some(model) => vec![(
                            Some(model.get()),
                            model_name.get(&model).cloned().unwrap_or_default(),
                        )],
                        None => vec![(None, "not printed yet or no model".to_string())],
                    }
                }
            };
            for (id, name) in keys {
                let row = rows
                    .entry((period_start.map(Timestamp::micros), id))
                    .or_insert_with(|| ReportRow {
                        id,
                        name,
                        period_start,
                        jobs: 0,
                        usage: Usage::default(),
                    });
                row.jobs += 1;
                row.usage.prints = row.usage.prints.saturating_add(fact.usage.prints);
                row.usage.seconds = row.usage.seconds.saturating_add(fact.usage.seconds);
                row.usage.grams = row.usage.grams.saturating_add(fact.usage.grams);
                row.usage.cost_minor = row.usage.cost_minor.saturating_add(fact.usage.cost_minor);
            }
        }
        Ok(Report {
            group_by: query.group_by,
            from,
            to,
            currency: settings.currency,
            time_zone: settings.time_zone,
            rows: rows.into_values().collect(),
        })
    }

    /// The report as CSV (the export is itself audited).
    pub async fn usage_report_csv(
        &self,
        actor: &OrgActor,
        query: ReportQuery,
    ) -> AppResult<Vec<u8>> {
        let only = query.only;
        let report = self.usage_report(actor, query).await?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(REPORT_CSV_HEADER)
            .map_err(AppError::internal)?;
        for row in &report.rows {
            writer
                .write_record([
                    report.group_by.key().to_string(),
                    row.id.map(|id| id.to_string()).unwrap_or_default(),
                    row.name.clone(),
                    row.period_start
                        .map(Timestamp::to_rfc3339)
                        .unwrap_or_default(),
                    row.jobs.to_string(),
                    row.usage.prints.to_string(),
                    format!("{:.2}", row.usage.seconds as f64 / 3600.0),
                    row.usage.grams.to_string(),
                    row.usage.cost_minor.to_string(),
                ])
                .map_err(AppError::internal)?;
        }
        let bytes = writer.into_inner().map_err(AppError::internal)?;
        let mut uow = self
            .begin(actor, crate::unit_of_work::Changes::Data)
            .await?;
        uow.audit(
            crate::unit_of_work::Audit::of("report.export", "organization", actor.org()).after(
                json!({
                    "group_by": report.group_by.key(),
                    "from": report.from.to_rfc3339(),
                    "to": report.to.to_rfc3339(),
                    "rows": report.rows.len(),
                    "only": only.summary(),
                }),
            ),
        );
        uow.commit().await?;
        Ok(bytes)
    }
}
