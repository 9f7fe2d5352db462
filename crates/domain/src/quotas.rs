//! Quotas: the kinds of allowance, their periods in the organization's calendar, how the
//! allowances of the organization, its workgroups and a member combine, and the sentences a
//! refusal explains itself with.
//!
//! # Which allowance applies
//!
//! An allowance is keyed by its kind and period (`prints` per `month`, `printing_hours` per
//! `week`, `max_active_jobs`…). Each key is resolved on its own, most specific first: the
//! member's own allowance; else their workgroups' (a member in several workgroups that set the
//! same key gets the most generous of them: workgroups grant, they do not restrict each other);
//! else the organization's default. Keys set at no level do not limit anything.
//!
//! # What counts
//!
//! A job counts in the period that contains its submission, from that moment: its estimate
//! while it waits or prints, what actually printed once it ends, nothing once it is rejected or
//! cancelled. `max_active_jobs` counts jobs pending approval, sent back, queued, assigned,
//! printing, paused or unknown; `max_job_duration_s` bounds one print (one copy) of a job.

use std::fmt;

pub use jiff::civil::Date;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::{Invalid, QuotaPeriodId, Timestamp};

/// The largest limit accepted for any allowance.
pub const MAX_LIMIT: i64 = 1_000_000_000_000;
/// The most allowances one level may have.
pub const MAX_ALLOWANCES: usize = 50;
/// Longest name of a custom period, and of a request's reason.
pub const MAX_PERIOD_NAME_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 1000;

/// What an allowance limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuotaKind {
    /// Prints (copies) per period.
    Prints,
    /// Hours of printing per period.
    PrintingHours,
    /// Grams of material per period.
    MaterialGrams,
    /// Cost per period, in the organization currency's minor units.
    CostMinor,
    /// The longest single print, in seconds.
    MaxJobDurationS,
    /// Jobs waiting or printing at any one time.
    MaxActiveJobs,
}

impl QuotaKind {
    pub const ALL: [QuotaKind; 6] = [
        QuotaKind::Prints,
        QuotaKind::PrintingHours,
        QuotaKind::MaterialGrams,
        QuotaKind::CostMinor,
        QuotaKind::MaxJobDurationS,
        QuotaKind::MaxActiveJobs,
    ];

    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Prints => "prints",
            QuotaKind::PrintingHours => "printing_hours",
            QuotaKind::MaterialGrams => "material_grams",
            QuotaKind::CostMinor => "cost_minor",
            QuotaKind::MaxJobDurationS => "max_job_duration_s",
            QuotaKind::MaxActiveJobs => "max_active_jobs",
        }
    }

    pub fn parse(key: &str) -> Option<QuotaKind> {
        QuotaKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Whether it counts over a period (the others hold at every moment).
    pub fn periodic(self) -> bool {
        !matches!(self, QuotaKind::MaxJobDurationS | QuotaKind::MaxActiveJobs)
    }
}

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The period an allowance counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuotaPeriod {
    /// The calendar day in the organization's time zone.
    Day,
    /// The ISO week (Monday to Sunday) in the organization's time zone.
    Week,
    /// The calendar month in the organization's time zone.
    Month,
    /// A named custom date range.
    Range(QuotaPeriodId),
}

impl QuotaPeriod {
    /// `day`, `week`, `month` or `range` (as stored; the range's ID is kept beside it).
    pub fn key(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "day",
            QuotaPeriod::Week => "week",
            QuotaPeriod::Month => "month",
            QuotaPeriod::Range(_) => "range",
        }
    }

    /// From the stored key and range ID; `None` for a period of no kind.
    pub fn from_parts(key: &str, range: Option<i64>) -> Option<Option<QuotaPeriod>> {
        match (key, range) {
            ("none", None) => Some(None),
            ("day", None) => Some(Some(QuotaPeriod::Day)),
            ("week", None) => Some(Some(QuotaPeriod::Week)),
            ("month", None) => Some(Some(QuotaPeriod::Month)),
            ("range", Some(id)) => Some(Some(QuotaPeriod::Range(QuotaPeriodId(id)))),
            _ => None,
        }
    }

    pub fn range(self) -> Option<QuotaPeriodId> {
        match self {
            QuotaPeriod::Range(id) => Some(id),
            _ => None,
        }
    }
}

/// One allowance: a kind, its period (for the periodic kinds), and its limit (hours for
/// `printing_hours`, grams, minor units, seconds, counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub kind: QuotaKind,
    pub period: Option<QuotaPeriod>,
    pub limit: i64,
}

impl Allowance {
    /// Checks one allowance of a list (`index` names it in the message).
    pub fn check(&self, index: usize) -> Result<(), Invalid> {
        let field = "allowances";
        if !(0..=MAX_LIMIT).contains(&self.limit) {
            return Err(Invalid::new(
                field,
                format!("allowance {index}: limit must be 0 to {MAX_LIMIT}"),
            ));
        }
        match (self.kind.periodic(), self.period) {
            (true, None) => Err(Invalid::new(
                field,
                format!(
                    "allowance {index}: {} needs a period (day, week, month or a custom period's id)",
                    self.kind
                ),
            )),
            (false, Some(_)) => Err(Invalid::new(
                field,
                format!(
                    "allowance {index}: {} holds at every moment and takes no period",
                    self.kind
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The limit in the unit usage is counted in (printing hours are counted in seconds).
    pub fn limit_in_units(&self) -> i64 {
        match self.kind {
            QuotaKind::PrintingHours => self.limit.saturating_mul(3600),
            _ => self.limit,
        }
    }
}

/// Checks a level's list: each allowance, at most one per kind and period, not too many.
pub fn check_allowances(list: &[Allowance]) -> Result<(), Invalid> {
    if list.len() > MAX_ALLOWANCES {
        return Err(Invalid::new(
            "allowances",
            format!("at most {MAX_ALLOWANCES} allowances"),
        ));
    }
    for (i, allowance) in list.iter().enumerate() {
        allowance.check(i)?;
        if list[..i]
            .iter()
            .any(|a| a.kind == allowance.kind && a.period == allowance.period)
        {
            return Err(Invalid::new(
                "allowances",
                format!(
                    "allowance {i}: {} per that period is already in the list",
                    allowance.kind
                ),
            ));
        }
    }
    Ok(())
}

/// Where an allowance that applies comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowanceSource {
    Organization,
    Workgroup(crate::WorkgroupId),
    Member,
}

impl AllowanceSource {
    pub fn key(self) -> &'static str {
        match self {
            AllowanceSource::Organization => "organization",
            AllowanceSource::Workgroup(_) => "workgroup",
            AllowanceSource::Member => "member",
        }
    }
}

/// The allowances that apply to a member, from the three levels (see the module docs).
pub fn resolve(
    organization: &[Allowance],
    workgroups: &[(crate::WorkgroupId, Vec<Allowance>)],
    member: &[Allowance],
) -> Vec<(Allowance, AllowanceSource)> {
    let mut applied: Vec<(Allowance, AllowanceSource)> = member
        .iter()
        .map(|a| (*a, AllowanceSource::Member))
        .collect();
    let same = |a: &Allowance, b: &Allowance| a.kind == b.kind && a.period == b.period;
    let mut from_groups: Vec<(Allowance, AllowanceSource)> = Vec::new();
    for (group, list) in workgroups {
        for allowance in list {
            if applied.iter().any(|(a, _)| same(a, allowance)) {
                continue;
            }
            match from_groups.iter_mut().find(|(a, _)| same(a, allowance)) {
                Some(existing) if existing.0.limit < allowance.limit => {
                    *existing = (*allowance, AllowanceSource::Workgroup(*group));
                }
                Some(_) => {}
                None => from_groups.push((*allowance, AllowanceSource::Workgroup(*group))),
            }
        }
    }
    applied.extend(from_groups);
    for allowance in organization {
        if !applied.iter().any(|(a, _)| same(a, allowance)) {
            applied.push((*allowance, AllowanceSource::Organization));
        }
    }
    applied.sort_by_key(|(a, _)| (a.kind, a.period));
    applied
}

/// A named custom date range, both days included, in the organization's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomPeriod {
    pub id: QuotaPeriodId,
    pub name: String,
    pub starts_on: Date,
    pub ends_on: Date,
}

/// Parses a calendar date `YYYY-MM-DD`.
pub fn parse_date(field: &'static str, raw: &str) -> Result<Date, Invalid> {
    let valid = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    raw.parse::<Date>()
        .ok()
        .filter(|_| valid)
        .ok_or_else(|| Invalid::new(field, "must be a calendar date such as 2026-09-01"))
}

/// The stretch of time `[start, end)` a period covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Why a calendar could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the calendar of time zone {zone:?} could not be worked out: {reason}")]
pub struct CalendarError {
    pub zone: String,
    pub reason: String,
}

/// An organization's calendar: its time zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    zone: TimeZone,
}

impl Calendar {
    pub fn new(zone: &str) -> Result<Calendar, CalendarError> {
        let tz = TimeZone::get(zone).map_err(|e| CalendarError {
            zone: zone.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Calendar {
            name: zone.to_string(),
            zone: tz,
        })
    }

    /// The calendar of `zone`, or of UTC when `zone` is not a time zone this system knows (an
    /// organization's zone is checked for its shape only): periods then follow UTC, and the
    /// sentences say so.
    pub fn or_utc(zone: &str) -> Calendar {
        Calendar::new(zone).unwrap_or_else(|_| Calendar {
            name: "UTC".to_string(),
            zone: TimeZone::UTC,
        })
    }

    pub fn zone_name(&self) -> &str {
        &self.name
    }

    /// The first moment of a day written `YYYY-MM-DD`, in the zone.
    pub fn day_start(&self, day: &str) -> Result<Timestamp, CalendarError> {
        let date: Date = day.trim().parse().map_err(|e| self.error(e))?;
        self.start_of(date)
    }

    /// The day `at` falls on in the zone, written `YYYY-MM-DD`.
    pub fn day_of(&self, at: Timestamp) -> Result<String, CalendarError> {
        Ok(self.date_of(at)?.to_string())
    }

    fn error(&self, e: impl fmt::Display) -> CalendarError {
        CalendarError {
            zone: self.name.clone(),
            reason: e.to_string(),
        }
    }

    fn date_of(&self, at: Timestamp) -> Result<Date, CalendarError> {
        let ts = jiff::Timestamp::from_microsecond(at.micros()).map_err(|e| self.error(e))?;
        Ok(ts.to_zoned(self.zone.clone()).date())
    }

    /// The first moment of `date` in the zone.
    fn start_of(&self, date: Date) -> Result<Timestamp, CalendarError> {
        let zoned = date
            .to_zoned(self.zone.clone())
            .map_err(|e| self.error(e))?;
        Ok(Timestamp::from_micros(zoned.timestamp().as_microsecond()))
    }

    /// The calendar period containing `at`; a custom range is its own window.
    pub fn window(
        &self,
        period: QuotaPeriod,
        at: Timestamp,
        custom: Option<&CustomPeriod>,
    ) -> Result<Window, CalendarError> {
        let (first, after) = match period {
            QuotaPeriod::Day => {
                let day = self.date_of(at)?;
                (day, day.tomorrow().map_err(|e| self.error(e))?)
            }
            QuotaPeriod::Week => {
                let day = self.date_of(at)?;
                let back = i64::from(day.weekday().to_monday_zero_offset());
                let monday = day
                    .checked_sub(jiff::Span::new().days(back))
                    .map_err(|e| self.error(e))?;
                let next = monday
                    .checked_add(jiff::Span::new().days(7))
                    .map_err(|e| self.error(e))?;
                (monday, next)
            }
            QuotaPeriod::Month => {
                let first = self.date_of(at)?.first_of_month();
                let next = first
                    .checked_add(jiff::Span::new().months(1))
                    .map_err(|e| self.error(e))?;
                (first, next)
            }
            QuotaPeriod::Range(id) => {
                let range = custom
                    .filter(|r| r.id == id)
                    .ok_or_else(|| self.error(format!("custom period {id} is unknown")))?;
                (
                    range.starts_on,
                    range.ends_on.tomorrow().map_err(|e| self.error(e))?,
                )
            }
        };
        Ok(Window {
            start: self.start_of(first)?,
            end: self.start_of(after)?,
        })
    }

    /// `Monday 8 December at 00:00 (Europe/Amsterdam)`.
    pub fn describe(&self, at: Timestamp) -> String {
        let Ok(ts) = jiff::Timestamp::from_microsecond(at.micros()) else {
            return at.to_rfc3339();
        };
        let zoned = ts.to_zoned(self.zone.clone());
        let month = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let month = month
            .get(usize::try_from(zoned.month() - 1).unwrap_or(0))
            .copied()
            .unwrap_or("");
        format!(
            "{} {} {} at {:02}:{:02} ({})",
            weekday_name(zoned.weekday()),
            zoned.day(),
            month,
            zoned.hour(),
            zoned.minute(),
            self.name
        )
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

/// What a job needs of its owner's allowances (or what it used, once printed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prints: i64,
    pub seconds: i64,
    pub grams: i64,
    pub cost_minor: i64,
}

impl Usage {
    pub fn of(&self, kind: QuotaKind) -> i64 {
        match kind {
            QuotaKind::Prints => self.prints,
            QuotaKind::PrintingHours => self.seconds,
            QuotaKind::MaterialGrams => self.grams,
            QuotaKind::CostMinor => self.cost_minor,
            QuotaKind::MaxJobDurationS | QuotaKind::MaxActiveJobs => 0,
        }
    }
}

/// `9 h 40 min`, `1 h 05 min`, `10 h`, `40 min` (seconds rounded up to the minute).
pub fn format_duration(seconds: i64) -> String {
    let minutes = seconds.max(0).saturating_add(59) / 60;
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

/// An amount of money in minor units as `12.50 EUR` (`1250 JPY` for currencies without minor
/// units).
pub fn format_money(minor: i64, currency: &str) -> String {
    let decimals = crate::money::minor_digits(currency);
    if decimals == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10_i64.pow(decimals);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

/// An amount of an allowance's kind for people (`used` and `limit` in counting units).
pub fn format_amount(kind: QuotaKind, amount: i64, currency: &str) -> String {
    match kind {
        QuotaKind::Prints => format!("{amount} print{}", if amount == 1 { "" } else { "s" }),
        QuotaKind::PrintingHours | QuotaKind::MaxJobDurationS => format_duration(amount),
        QuotaKind::MaterialGrams => format!("{amount} g"),
        QuotaKind::CostMinor => format_money(amount, currency),
        QuotaKind::MaxActiveJobs => format!("{amount} job{}", if amount == 1 { "" } else { "s" }),
    }
}

/// The sentence a refusal of a periodic allowance gives: what was used of how much in which
/// period, what the job needs, and when the period resets.
pub fn exceeded_sentence(
    allowance: &Allowance,
    used: i64,
    needs: i64,
    period_name: &str,
    resets: &str,
    currency: &str,
) -> String {
    let kind = allowance.kind;
    let limit = allowance.limit_in_units();
    let (this, reset) = match allowance.period {
        Some(QuotaPeriod::Day) => ("today".to_string(), "the day resets".to_string()),
        Some(QuotaPeriod::Week) => ("this week".to_string(), "the week resets".to_string()),
        Some(QuotaPeriod::Month) => ("this month".to_string(), "the month resets".to_string()),
        Some(QuotaPeriod::Range(_)) | None => (
            format!("in {period_name}"),
            format!("{period_name} ends; the allowance is renewed"),
        ),
    };
    let job = if kind == QuotaKind::CostMinor {
        format!("this job costs {}", format_amount(kind, needs, currency))
    } else {
        format!("this job needs {}", format_amount(kind, needs, currency))
    };
    format!(
        "You have used {} of your {} {this}; {job}; {reset} on {resets}",
        format_amount(kind, used, currency),
        format_amount(kind, limit, currency),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_in_the_organizations_zone() {
        let calendar = Calendar::new("Europe/Amsterdam").unwrap();
        // Sunday 7 December 2025, 23:30 in Amsterdam (22:30 UTC).
        let window = calendar
            .window(QuotaPeriod::Week, at("2025-12-07T22:30:00Z"), None)
            .unwrap();
        assert_eq!(window.start, at("2025-11-30T23:00:00Z"));
        assert_eq!(window.end, at("2025-12-07T23:00:00Z"));
        assert_eq!(
            calendar.describe(window.end),
            "Monday 8 December at 00:00 (Europe/Amsterdam)"
        );
        let month = calendar
            .window(QuotaPeriod::Month, at("2026-03-31T22:30:00Z"), None)
            .unwrap();
        // Already 1 April in Amsterdam (summer time).
        assert_eq!(month.start, at("2026-03-31T22:00:00Z"));
        assert_eq!(month.end, at("2026-04-30T22:00:00Z"));
        let day = calendar
            .window(QuotaPeriod::Day, at("2026-03-29T12:00:00Z"), None)
            .unwrap();
        // The day summer time starts has 23 hours.
        assert_eq!(day.start.seconds_until(day.end), 23 * 3600);
    }

    #[test]
    fn an_unknown_zone_counts_in_utc() {
        let calendar = Calendar::or_utc("Nowhere/Atlantis");
        assert_eq!(calendar.zone_name(), "UTC");
        let day = calendar
            .window(QuotaPeriod::Day, at("2026-03-29T12:00:00Z"), None)
            .unwrap();
        assert_eq!(day.start, at("2026-03-29T00:00:00Z"));
    }

    #[test]
    fn custom_ranges_include_both_days() {
        let calendar = Calendar::new("UTC").unwrap();
        let range = CustomPeriod {
            id: QuotaPeriodId(3),
            name: "Autumn".into(),
            starts_on: parse_date("d", "2026-09-01").unwrap(),
            ends_on: parse_date("d", "2026-12-31").unwrap(),
        };
        let window = calendar
            .window(
                QuotaPeriod::Range(QuotaPeriodId(3)),
                at("2026-10-01T00:00:00Z"),
                Some(&range),
            )
            .unwrap();
        assert_eq!(window.start, at("2026-09-01T00:00:00Z"));
        assert_eq!(window.end, at("2027-01-01T00:00:00Z"));
        assert!(parse_date("d", "2026-9-1").is_err());
        assert!(parse_date("d", "2026-02-30").is_err());
    }

    #[test]
    fn the_refusal_names_usage_limit_need_and_reset() {
        let allowance = Allowance {
            kind: QuotaKind::PrintingHours,
            period: Some(QuotaPeriod::Week),
            limit: 10,
        };
        let sentence = exceeded_sentence(
            &allowance,
            9 * 3600 + 40 * 60,
            3900,
            "",
            "Monday 8 December at 00:00 (Europe/Amsterdam)",
            "EUR",
        );
        assert_eq!(
            sentence,
            "You have used 9 h 40 min of your 10 h this week; this job needs 1 h 05 min; \
             the week resets on Monday 8 December at 00:00 (Europe/Amsterdam)"
        );
        assert_eq!(format_money(-1205, "EUR"), "-12.05 EUR");
        assert_eq!(format_money(500, "JPY"), "500 JPY");
    }

    #[test]
    fn the_most_specific_level_wins_and_workgroups_grant_the_most() {
        use crate::WorkgroupId;
        let a = |kind, period, limit| Allowance {
            kind,
            period,
            limit,
        };
        let month = Some(QuotaPeriod::Month);
        let org = [
            a(QuotaKind::Prints, month, 5),
            a(QuotaKind::MaxActiveJobs, None, 2),
        ];
        let groups = [
            (WorkgroupId(1), vec![a(QuotaKind::Prints, month, 8)]),
            (WorkgroupId(2), vec![a(QuotaKind::Prints, month, 12)]),
        ];
        let applied = resolve(&org, &groups, &[a(QuotaKind::MaxActiveJobs, None, 4)]);
        assert_eq!(
            applied,
            vec![
                (
                    a(QuotaKind::Prints, month, 12),
                    AllowanceSource::Workgroup(WorkgroupId(2))
                ),
                (
                    a(QuotaKind::MaxActiveJobs, None, 4),
                    AllowanceSource::Member
                ),
            ]
        );
    }
}
