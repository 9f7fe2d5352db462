//! Money on the wire: balances, the ledger, prices, billing settings and job costs. Every
//! amount is an integer in the organization currency's minor units (cents).

use domain::money as m;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ids::{
    JobId, LedgerEntryId, MemberId, PrinterId, PrinterModelId, SiteId, Timestamp, WorkgroupId,
};

/// A member's money.
#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    /// The sum of the member's ledger.
    pub balance_minor: i64,
    /// Held for their jobs that have not ended.
    pub held_minor: i64,
    /// The balance less what is held: what a new job's estimate must fit in.
    pub available_minor: i64,
    /// The organization's currency (ISO 4217).
    pub currency: String,
}

impl Balance {
    pub fn new(balance: app::Balance, currency: String) -> Balance {
        let app::Balance {
            balance_minor,
            held_minor,
            available_minor,
        } = balance;
        Balance {
            balance_minor,
            held_minor,
            available_minor,
            currency,
        }
    }
}

/// What a ledger entry is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Money added.
    TopUp,
    /// A job's estimate held at its submission (moves `held`, not the balance).
    Hold,
    /// A job's final cost.
    Charge,
    /// A hold given back (the job ended or was rejected or cancelled).
    Release,
    /// Money given back for a job.
    Refund,
    /// A correction, up or down.
    Adjustment,
}

impl From<m::LedgerKind> for LedgerKind {
    fn from(kind: m::LedgerKind) -> LedgerKind {
        match kind {
            m::LedgerKind::TopUp => LedgerKind::TopUp,
            m::LedgerKind::Hold => LedgerKind::Hold,
            m::LedgerKind::Charge => LedgerKind::Charge,
            m::LedgerKind::Release => LedgerKind::Release,
            m::LedgerKind::Refund => LedgerKind::Refund,
            m::LedgerKind::Adjustment => LedgerKind::Adjustment,
        }
    }
}

/// One entry of a member's append-only ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub member_id: MemberId,
    pub kind: LedgerKind,
    /// What it moves the balance by (negative for a charge).
    pub amount_minor: i64,
    /// What it moves the held amount by (a hold adds, a release takes away).
    pub hold_minor: i64,
    pub job_id: Option<JobId>,
    /// Who made it; absent for Farmhand itself (a print's end).
    pub actor_member_id: Option<MemberId>,
    pub reason: String,
    pub created_at: Timestamp,
}

impl From<app::LedgerEntry> for LedgerEntry {
    fn from(entry: app::LedgerEntry) -> LedgerEntry {
        let app::LedgerEntry {
            id,
            member_id,
            kind,
            amount_minor,
            hold_minor,
            job_id,
            actor_member_id,
            reason,
            created_at,
        } = entry;
        LedgerEntry {
            id: id.into(),
            member_id: member_id.into(),
            kind: kind.into(),
            amount_minor,
            hold_minor,
            job_id: job_id.map(Into::into),
            actor_member_id: actor_member_id.map(Into::into),
            reason,
            created_at: created_at.into(),
        }
    }
}

/// A page of a member's ledger, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<LedgerEntryId>,
}

impl From<app::LedgerPage> for LedgerPage {
    fn from(page: app::LedgerPage) -> LedgerPage {
        let app::LedgerPage {
            entries,
            next_cursor,
        } = page;
        LedgerPage {
            entries: entries.into_iter().map(Into::into).collect(),
            next_cursor: next_cursor.map(Into::into),
        }
    }
}

/// Paging through a ledger.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<LedgerEntryId>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Money added to or taken from a balance, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    /// Minor units: 1 to 10^12 for a top-up; -10^12 to 10^12 but not 0 for an adjustment.
    #[schema(minimum = -1_000_000_000_000_i64, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: i64,
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl From<Movement> for app::Movement {
    fn from(body: Movement) -> app::Movement {
        let Movement {
            amount_minor,
            reason,
        } = body;
        app::Movement {
            amount_minor,
            reason,
            job_id: None,
        }
    }
}

/// Money given back for a job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// The member's job it is for.
    pub job_id: JobId,
    /// 1 to what the job was charged less what was refunded for it already.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: i64,
    /// 1 to 500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl From<Refund> for app::Movement {
    fn from(body: Refund) -> app::Movement {
        let Refund {
            job_id,
            amount_minor,
            reason,
        } = body;
        app::Movement {
            amount_minor,
            reason,
            job_id: Some(job_id.into()),
        }
    }
}

/// What a job costs on printers of a model, in a material (absent: any). The most specific
/// price applies: model and material, then model, then material, then neither.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(default)]
    pub printer_model_id: Option<PrinterModelId>,
    /// A material as slicers name it (`PLA`, `PETG`), matched without regard to case.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 40)]
    pub material: Option<String>,
    /// Per gram of material.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub per_gram_minor: i64,
    /// Per hour of machine time (charged by the second).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub per_hour_minor: i64,
    /// Once per job.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub flat_fee_minor: i64,
}

impl From<Price> for m::Price {
    fn from(p: Price) -> m::Price {
        let Price {
            printer_model_id,
            material,
            per_gram_minor,
            per_hour_minor,
            flat_fee_minor,
        } = p;
        m::Price {
            printer_model_id: printer_model_id.map(Into::into),
            material,
            per_gram_minor,
            per_hour_minor,
            flat_fee_minor,
        }
    }
}

impl From<m::Price> for Price {
    fn from(p: m::Price) -> Price {
        let m::Price {
            printer_model_id,
            material,
            per_gram_minor,
            per_hour_minor,
            flat_fee_minor,
        } = p;
        Price {
            printer_model_id: printer_model_id.map(Into::into),
            material,
            per_gram_minor,
            per_hour_minor,
            flat_fee_minor,
        }
    }
}

/// What a failed print is charged.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailedPrintCharge {
    /// As if it had completed.
    Full,
    /// By how far it got (time printed over time estimated).
    Progress,
    /// Nothing for the failed print (copies completed before it are charged).
    Nothing,
}

impl From<FailedPrintCharge> for m::FailedPrintCharge {
    fn from(c: FailedPrintCharge) -> m::FailedPrintCharge {
        match c {
            FailedPrintCharge::Full => m::FailedPrintCharge::Full,
            FailedPrintCharge::Progress => m::FailedPrintCharge::Progress,
            FailedPrintCharge::Nothing => m::FailedPrintCharge::Nothing,
        }
    }
}

impl From<m::FailedPrintCharge> for FailedPrintCharge {
    fn from(c: m::FailedPrintCharge) -> FailedPrintCharge {
        match c {
            m::FailedPrintCharge::Full => FailedPrintCharge::Full,
            m::FailedPrintCharge::Progress => FailedPrintCharge::Progress,
            m::FailedPrintCharge::Nothing => FailedPrintCharge::Nothing,
        }
    }
}

/// When a job's estimate is held.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldAt {
    /// When it is submitted.
    Submission,
    /// When it is approved (a job that needs no approval: when it is submitted); an approval
    /// the owner's available balance does not cover is refused with `insufficient_balance`.
    Approval,
}

impl From<HoldAt> for m::HoldAt {
    fn from(h: HoldAt) -> m::HoldAt {
        match h {
            HoldAt::Submission => m::HoldAt::Submission,
            HoldAt::Approval => m::HoldAt::Approval,
        }
    }
}

impl From<m::HoldAt> for HoldAt {
    fn from(h: m::HoldAt) -> HoldAt {
        match h {
            m::HoldAt::Submission => HoldAt::Submission,
            m::HoldAt::Approval => HoldAt::Approval,
        }
    }
}

/// How the organization bills.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingSettings {
    pub hold_at: HoldAt,
    pub failed_print_charge: FailedPrintCharge,
    /// How far below zero a member with "Print on insufficient balance" may take their
    /// available balance (zero or negative); `null`: no floor.
    pub balance_floor_minor: Option<i64>,
}

impl From<app::BillingSettings> for BillingSettings {
    fn from(s: app::BillingSettings) -> BillingSettings {
        let app::BillingSettings {
            hold_at,
            failed_print_charge,
            balance_floor_minor,
        } = s;
        BillingSettings {
            hold_at: hold_at.into(),
            failed_print_charge: failed_print_charge.into(),
            balance_floor_minor,
        }
    }
}

/// Changes to the billing settings (absent: unchanged).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBillingSettings {
    #[serde(default)]
    pub hold_at: Option<HoldAt>,
    #[serde(default)]
    pub failed_print_charge: Option<FailedPrintCharge>,
    /// -10^12 to 0; `null` removes the floor.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>, minimum = -1_000_000_000_000_i64, maximum = 0)]
    pub balance_floor_minor: Option<Option<i64>>,
}

impl From<UpdateBillingSettings> for app::UpdateBilling {
    fn from(body: UpdateBillingSettings) -> app::UpdateBilling {
        let UpdateBillingSettings {
            hold_at,
            failed_print_charge,
            balance_floor_minor,
        } = body;
        app::UpdateBilling {
            hold_at: hold_at.map(Into::into),
            failed_print_charge: failed_print_charge.map(Into::into),
            balance_floor_minor,
        }
    }
}

/// One line of a job's cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct CostLine {
    pub label: String,
    /// Grams, hours (two decimals) or jobs.
    pub quantity: f64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

/// An itemized cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cost {
    pub total_minor: i64,
    pub lines: Vec<CostLine>,
}

impl From<m::Cost> for Cost {
    fn from(cost: m::Cost) -> Cost {
        let m::Cost { total_minor, lines } = cost;
        Cost {
            total_minor,
            lines: lines
                .into_iter()
                .map(|line| {
                    let m::CostLine {
                        label,
                        quantity,
                        unit_price_minor,
                        amount_minor,
                    } = line;
                    CostLine {
                        label,
                        quantity,
                        unit_price_minor,
                        amount_minor,
                    }
                })
                .collect(),
        }
    }
}

/// What a report's rows are per.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportGroup {
    Member,
    Workgroup,
    Printer,
    PrinterModel,
}

impl From<ReportGroup> for app::ReportGroup {
    fn from(group: ReportGroup) -> app::ReportGroup {
        match group {
            ReportGroup::Member => app::ReportGroup::Member,
            ReportGroup::Workgroup => app::ReportGroup::Workgroup,
            ReportGroup::Printer => app::ReportGroup::Printer,
            ReportGroup::PrinterModel => app::ReportGroup::PrinterModel,
        }
    }
}

impl From<app::ReportGroup> for ReportGroup {
    fn from(group: app::ReportGroup) -> ReportGroup {
        match group {
            app::ReportGroup::Member => ReportGroup::Member,
            app::ReportGroup::Workgroup => ReportGroup::Workgroup,
            app::ReportGroup::Printer => ReportGroup::Printer,
            app::ReportGroup::PrinterModel => ReportGroup::PrinterModel,
        }
    }
}

/// A usage and spend report's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Rows per member, workgroup, printer or printer model.
    pub group_by: ReportGroup,
    /// Rows per day, week or month (in the organization's time zone) as well.
    pub period: Option<super::quotas::CalendarPeriod>,
    /// From (RFC 3339, included); default: the start of the current month.
    pub from: Option<Timestamp>,
    /// To (RFC 3339, excluded; not before `from`, at most 400 days after it); default: the end
    /// of the current month.
    pub to: Option<Timestamp>,
    /// Only jobs on a printer of this site.
    pub site_id: Option<SiteId>,
    /// Only this member's jobs.
    pub member_id: Option<MemberId>,
    /// Only the jobs of this workgroup's members.
    pub workgroup_id: Option<WorkgroupId>,
    /// Only jobs on this printer.
    pub printer_id: Option<PrinterId>,
    /// Only jobs on a printer of this model. Filters combine: a job counts when it matches
    /// every one given.
    pub printer_model_id: Option<PrinterModelId>,
}

impl From<ReportQuery> for app::ReportQuery {
    fn from(query: ReportQuery) -> app::ReportQuery {
        let ReportQuery {
            group_by,
            period,
            from,
            to,
            site_id,
            member_id,
            workgroup_id,
            printer_id,
            printer_model_id,
        } = query;
        app::ReportQuery {
            group_by: group_by.into(),
            period: period.map(|p| super::quotas::Period::Calendar(p).into()),
            from: from.map(Into::into),
            to: to.map(Into::into),
            only: app::ReportFilter {
                site: site_id.map(Into::into),
                member: member_id.map(Into::into),
                workgroup: workgroup_id.map(Into::into),
                printer: printer_id.map(Into::into),
                printer_model: printer_model_id.map(Into::into),
            },
        }
    }
}

/// One row of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportRow {
    /// The member, workgroup, printer or printer model; absent for "no workgroup" and "not
    /// printed yet".
    pub id: Option<i64>,
    pub name: String,
    /// The start of the row's day, week or month, when the report is per period.
    pub period_start: Option<Timestamp>,
    pub jobs: i64,
    pub prints: i64,
    /// Two decimals.
    pub printing_hours: f64,
    pub material_grams: i64,
    pub cost_minor: i64,
}

/// Usage and spend.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    pub group_by: ReportGroup,
    pub from: Timestamp,
    pub to: Timestamp,
    pub currency: String,
    pub time_zone: String,
    pub rows: Vec<ReportRow>,
}

impl From<app::Report> for Report {
    fn from(report: app::Report) -> Report {
        let app::Report {
            group_by,
            from,
            to,
            currency,
            time_zone,
            rows,
        } = report;
        Report {
            group_by: group_by.into(),
            from: from.into(),
            to: to.into(),
            currency,
            time_zone,
            rows: rows
                .into_iter()
                .map(|row| {
                    let app::ReportRow {
                        id,
                        name,
                        period_start,
                        jobs,
                        usage,
                    } = row;
                    ReportRow {
                        id,
                        name,
                        period_start: period_start.map(Into::into),
                        jobs,
                        prints: usage.prints,
                        printing_hours: (usage.seconds as f64 / 36.0).round() / 100.0,
                        material_grams: usage.grams,
                        cost_minor: usage.cost_minor,
                    }
                })
                .collect(),
        }
    }
}
