//! Quotas on the wire: allowances, a member's usage, custom periods and quota requests.

use domain::quotas::{self as q, AllowanceSource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::{MemberId, QuotaPeriodId, QuotaRequestId, Timestamp, WorkgroupId};

/// What an allowance limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Prints (copies) per period.
    Prints,
    /// Hours of printing per period (`limit` in hours).
    PrintingHours,
    /// Grams of material per period.
    MaterialGrams,
    /// Cost per period, in the organization currency's minor units.
    CostMinor,
    /// The longest a single print (one copy) may take, in seconds; no period.
    MaxJobDurationS,
    /// Jobs pending approval, sent back, queued, assigned or printing at any one time; no
    /// period.
    MaxActiveJobs,
}

impl From<QuotaKind> for q::QuotaKind {
    fn from(kind: QuotaKind) -> q::QuotaKind {
        match kind {
            QuotaKind::Prints => q::QuotaKind::Prints,
            QuotaKind::PrintingHours => q::QuotaKind::PrintingHours,
            QuotaKind::MaterialGrams => q::QuotaKind::MaterialGrams,
            QuotaKind::CostMinor => q::QuotaKind::CostMinor,
            QuotaKind::MaxJobDurationS => q::QuotaKind::MaxJobDurationS,
            QuotaKind::MaxActiveJobs => q::QuotaKind::MaxActiveJobs,
        }
    }
}

impl From<q::QuotaKind> for QuotaKind {
    fn from(kind: q::QuotaKind) -> QuotaKind {
        match kind {
            q::QuotaKind::Prints => QuotaKind::Prints,
            q::QuotaKind::PrintingHours => QuotaKind::PrintingHours,
            q::QuotaKind::MaterialGrams => QuotaKind::MaterialGrams,
            q::QuotaKind::CostMinor => QuotaKind::CostMinor,
            q::QuotaKind::MaxJobDurationS => QuotaKind::MaxJobDurationS,
            q::QuotaKind::MaxActiveJobs => QuotaKind::MaxActiveJobs,
        }
    }
}

/// A calendar period in the organization's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarPeriod {
    /// The calendar day.
    Day,
    /// The ISO week, Monday to Sunday.
    Week,
    /// The calendar month.
    Month,
}

/// The period an allowance counts over: `day`, `week`, `month`, or a custom period's ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Period {
    Calendar(CalendarPeriod),
    Custom(QuotaPeriodId),
}

impl From<Period> for q::QuotaPeriod {
    fn from(period: Period) -> q::QuotaPeriod {
        match period {
            Period::Calendar(CalendarPeriod::Day) => q::QuotaPeriod::Day,
            Period::Calendar(CalendarPeriod::Week) => q::QuotaPeriod::Week,
            Period::Calendar(CalendarPeriod::Month) => q::QuotaPeriod::Month,
            Period::Custom(id) => q::QuotaPeriod::Range(id.into()),
        }
    }
}

impl From<q::QuotaPeriod> for Period {
    fn from(period: q::QuotaPeriod) -> Period {
        match period {
            q::QuotaPeriod::Day => Period::Calendar(CalendarPeriod::Day),
            q::QuotaPeriod::Week => Period::Calendar(CalendarPeriod::Week),
            q::QuotaPeriod::Month => Period::Calendar(CalendarPeriod::Month),
            q::QuotaPeriod::Range(id) => Period::Custom(id.into()),
        }
    }
}

/// One allowance. The periodic kinds (`prints`, `printing_hours`, `material_grams`,
/// `cost_minor`) need a period; `max_job_duration_s` and `max_active_jobs` take none.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    pub kind: QuotaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// Prints, hours, grams, minor units, seconds or jobs, per the kind.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub limit: i64,
}

impl From<Allowance> for q::Allowance {
    fn from(a: Allowance) -> q::Allowance {
        q::Allowance {
            kind: a.kind.into(),
            period: a.period.map(Into::into),
            limit: a.limit,
        }
    }
}

impl From<q::Allowance> for Allowance {
    fn from(a: q::Allowance) -> Allowance {
        let q::Allowance {
            kind,
            period,
            limit,
        } = a;
        Allowance {
            kind: kind.into(),
            period: period.map(Into::into),
            limit,
        }
    }
}

/// Which level an allowance that applies comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceLevel {
    Organization,
    Workgroup,
    Member,
}

/// One allowance that applies to a member and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageLine {
    pub kind: QuotaKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// What the member's jobs count now in the current period, in the unit of `limit` (hours
    /// with two decimals for `printing_hours`); jobs waiting or printing for
    /// `max_active_jobs`; 0 for `max_job_duration_s`.
    pub used: f64,
    pub limit: i64,
    /// Where it comes from.
    pub source: AllowanceLevel,
    /// With `source` `workgroup`: which workgroup's (the most generous of the member's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workgroup_id: Option<WorkgroupId>,
    /// When the period resets (a custom period: when it ends); absent for the kinds without
    /// a period, and for a custom period not running now.
    pub resets_at: Option<Timestamp>,
    /// The member holds the permission that lifts this allowance.
    pub exempt: bool,
}

/// What a member has used of each allowance that applies to them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberUsage {
    pub member_id: MemberId,
    /// The organization's time zone, in which periods begin and end.
    pub time_zone: String,
    pub currency: String,
    pub allowances: Vec<UsageLine>,
}

impl From<app::MemberUsage> for MemberUsage {
    fn from(usage: app::MemberUsage) -> MemberUsage {
        let app::MemberUsage {
            member_id,
            time_zone,
            currency,
            lines,
        } = usage;
        MemberUsage {
            member_id: member_id.into(),
            time_zone,
            currency,
            allowances: lines
                .into_iter()
                .map(|line| {
                    let app::UsageLine {
                        allowance,
                        source,
                        used,
                        limit: _,
                        resets_at,
                        exempt,
                    } = line;
                    let used = if allowance.kind == q::QuotaKind::PrintingHours {
                        (used as f64 / 36.0).round() / 100.0
                    } else {
                        used as f64
                    };
                    let (source, workgroup_id) = match source {
                        AllowanceSource::Organization => (AllowanceLevel::Organization, None),
                        AllowanceSource::Workgroup(id) => {
                            (AllowanceLevel::Workgroup, Some(id.into()))
                        }
                        AllowanceSource::Member => (AllowanceLevel::Member, None),
                    };
                    UsageLine {
                        kind: allowance.kind.into(),
                        period: allowance.period.map(Into::into),
                        used,
                        limit: allowance.limit,
                        source,
                        workgroup_id,
                        resets_at: resets_at.map(Into::into),
                        exempt,
                    }
                })
                .collect(),
        }
    }
}

/// A named custom period (a semester): calendar dates in the organization's time zone, both
/// included.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomPeriod {
    pub id: QuotaPeriodId,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    /// `YYYY-MM-DD`, included.
    pub ends_on: String,
}

impl From<q::CustomPeriod> for CustomPeriod {
    fn from(p: q::CustomPeriod) -> CustomPeriod {
        let q::CustomPeriod {
            id,
            name,
            starts_on,
            ends_on,
        } = p;
        CustomPeriod {
            id: id.into(),
            name,
            starts_on: starts_on.to_string(),
            ends_on: ends_on.to_string(),
        }
    }
}

/// A custom period to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomPeriod {
    /// 1 to 100 characters, unique in the organization.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `YYYY-MM-DD`.
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub starts_on: String,
    /// `YYYY-MM-DD`, not before `starts_on`.
    #[schema(pattern = r"^\d{4}-\d{2}-\d{2}$")]
    pub ends_on: String,
}

impl From<CreateCustomPeriod> for app::NewCustomPeriod {
    fn from(body: CreateCustomPeriod) -> app::NewCustomPeriod {
        let CreateCustomPeriod {
            name,
            starts_on,
            ends_on,
        } = body;
        app::NewCustomPeriod {
            name,
            starts_on,
            ends_on,
        }
    }
}

/// A request for more of an allowance.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateQuotaRequest {
    pub kind: QuotaKind,
    /// The allowance's period (none for `max_job_duration_s` and `max_active_jobs`).
    #[serde(default)]
    pub period: Option<Period>,
    /// The limit asked for.
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub limit: i64,
    /// Why, for whoever decides (1 to 1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

impl From<CreateQuotaRequest> for app::RequestQuota {
    fn from(body: CreateQuotaRequest) -> app::RequestQuota {
        let CreateQuotaRequest {
            kind,
            period,
            limit,
            reason,
        } = body;
        app::RequestQuota {
            kind: kind.into(),
            period: period.map(Into::into),
            limit,
            reason,
        }
    }
}

/// Approving a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveQuotaRequest {
    /// Grant less than asked (0 to what was asked); absent: what was asked.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub limit: Option<i64>,
    /// A word for the member (at most 1000 characters).
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

/// Declining a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineQuotaRequest {
    /// Why, for the member (1 to 1000 characters).
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Where a quota request stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaRequestState {
    Pending,
    Approved,
    Declined,
}

/// A member's request for more of an allowance, and its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaRequest {
    pub id: QuotaRequestId,
    pub member_id: MemberId,
    pub kind: QuotaKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// The limit asked for.
    pub limit: i64,
    pub reason: String,
    pub state: QuotaRequestState,
    /// What was granted, once approved.
    pub granted_limit: Option<i64>,
    /// The decider's reason.
    pub answer: Option<String>,
    pub decided_by: Option<MemberId>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

impl From<app::QuotaRequest> for QuotaRequest {
    fn from(r: app::QuotaRequest) -> QuotaRequest {
        let app::QuotaRequest {
            id,
            member_id,
            kind,
            period,
            requested_limit,
            reason,
            state,
            granted_limit,
            answer,
            decided_by,
            created_at,
            decided_at,
        } = r;
        QuotaRequest {
            id: id.into(),
            member_id: member_id.into(),
            kind: kind.into(),
            period: period.map(Into::into),
            limit: requested_limit,
            reason,
            state: match state.as_str() {
                "approved" => QuotaRequestState::Approved,
                "declined" => QuotaRequestState::Declined,
                _ => QuotaRequestState::Pending,
            },
            granted_limit,
            answer,
            decided_by: decided_by.map(Into::into),
            created_at: created_at.into(),
            decided_at: decided_at.map(Into::into),
        }
    }
}
