//! Usage reports: spend and printing hours over time and each printer's utilisation, drawn
//! as server-rendered SVG from the reports use case, filtered by period and by a member,
//! workgroup, printer or printer model, with the table of figures and its CSV export.

use std::collections::{BTreeMap, HashMap};

use app::{AppError, ReportGroup, ReportQuery};
use askama::Template;
use authz::Permission as P;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::Timestamp;
use domain::quotas::{Calendar, QuotaPeriod, Usage, format_money};
use serde::Deserialize;

use super::charts::{self, Chart};
use crate::WebState;
use crate::ui::error::{UiError, render};
use crate::ui::session::InOrg;
use crate::ui::views::Layout;

type Page = Result<Response, UiError>;

/// The most bars a chart over time draws: a longer stretch is drawn per week or month.
const MAX_BARS: usize = 400;

#[derive(Deserialize, Default)]
pub(crate) struct ReportFilters {
    /// First day, `YYYY-MM-DD` in the organization's time zone (default: this month's first).
    #[serde(default)]
    from: String,
    /// Last day, included (default: this month's last).
    #[serde(default)]
    to: String,
    /// Bars per `day`, `week` or `month`.
    #[serde(default)]
    period: String,
    /// Whose use: empty for everyone, or `member:ID`, `workgroup:ID`, `printer:ID`,
    /// `printer_model:ID`.
    #[serde(default)]
    subject: String,
    /// The table's rows when looking at everyone: `member`, `workgroup`, `printer`,
    /// `printer_model`.
    #[serde(default)]
    per: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
    org_id: i64,
    from: String,
    to: String,
    period: &'static str,
    per: &'static str,
    choices: Vec<ChoiceGroup>,
    problem: String,
    /// Empty when a problem kept the report from being made.
    report: Option<Figures>,
}

struct ChoiceGroup {
    label: &'static str,
    options: Vec<Choice>,
}

struct Choice {
    value: String,
    name: String,
    selected: bool,
}

struct Figures {
    time_zone: String,
    spend: String,
    hours: String,
    jobs: i64,
    prints: i64,
    grams: i64,
    spend_chart: Chart,
    hours_chart: Chart,
    utilisation: Chart,
    rows_label: &'static str,
    rows: Vec<TableRow>,
    csv: String,
}

struct TableRow {
    name: String,
    jobs: i64,
    prints: i64,
    hours: String,
    grams: i64,
    cost: String,
}

fn group_key(text: &str) -> Option<ReportGroup> {
    match text {
        "member" => Some(ReportGroup::Member),
        "workgroup" => Some(ReportGroup::Workgroup),
        "printer" => Some(ReportGroup::Printer),
        "printer_model" => Some(ReportGroup::PrinterModel),
        _ => None,
    }
}

fn group_label(group: ReportGroup) -> &'static str {
    match group {
        ReportGroup::Member => "Member",
        ReportGroup::Workgroup => "Workgroup",
        ReportGroup::Printer => "Printer",
        ReportGroup::PrinterModel => "Printer model",
    }
}

fn period_key(period: QuotaPeriod) -> &'static str {
    match period {
        QuotaPeriod::Week => "week",
        QuotaPeriod::Month => "month",
        _ => "day",
    }
}

/// `member:12` and the like; `None` for everyone.
fn parse_subject(text: &str) -> Result<Option<(ReportGroup, i64)>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.split_once(':')
        .and_then(|(kind, id)| Some((group_key(kind)?, id.parse::<i64>().ok()?)))
        .map(Some)
        .ok_or_else(|| "Choose whose use to show from the list.".to_string())
}

fn hours(seconds: i64) -> String {
    format!("{:.1} h", seconds as f64 / 3600.0)
}

/// What the filters ask for, read in the organization's calendar.
#[derive(Debug)]
struct Asked {
    from: Timestamp,
    to: Timestamp,
    period: QuotaPeriod,
    subject: Option<(ReportGroup, i64)>,
    per: ReportGroup,
}

fn read_filters(
    filters: &ReportFilters,
    calendar: &Calendar,
    now: Timestamp,
) -> Result<Asked, String> {
    let month = calendar
        .window(QuotaPeriod::Month, now, None)
        .map_err(|e| e.to_string())?;
    let from = match filters.from.trim() {
        "" => month.start,
        day => calendar
            .day_start(day)
            .map_err(|_| format!("The first day “{day}” is not a date (YYYY-MM-DD)."))?,
    };
    let to = match filters.to.trim() {
        "" => month.end,
        day => {
            let start = calendar
                .day_start(day)
                .map_err(|_| format!("The last day “{day}” is not a date (YYYY-MM-DD)."))?;
            calendar
                .window(QuotaPeriod::Day, start, None)
                .map_err(|e| e.to_string())?
                .end
        }
    };
    let period = match filters.period.trim() {
        "" | "day" => QuotaPeriod::Day,
        "week" => QuotaPeriod::Week,
        "month" => QuotaPeriod::Month,
        _ => return Err("Choose bars per day, week or month.".into()),
    };
    let subject = parse_subject(&filters.subject)?;
    let per = match (subject, filters.per.trim()) {
        (Some((group, _)), _) => group,
        (None, "") => ReportGroup::Member,
        (None, text) => group_key(text).ok_or("Choose what the table's rows are per.")?,
    };
    Ok(Asked {
        from,
        to,
        period,
        subject,
        per,
    })
}

/// Whom the filter may pick: the members, workgroups, printers and models the viewer may
/// list (each list only with its permission).
async fn choices(
    state: &WebState,
    member: &InOrg,
    subject: &str,
) -> Result<Vec<ChoiceGroup>, UiError> {
    let actor = &member.actor;
    let app = &state.app;
    let option = |kind: &str, id: i64, name: String| {
        let value = format!("{kind}:{id}");
        Choice {
            selected: value == subject.trim(),
            value,
            name,
        }
    };
    let mut groups = Vec::new();
    if actor.holds(P::MembersView) {
        let mut members = app.people().list_members(actor).await?;
        members.sort_by_key(|m| m.name.to_lowercase());
        groups.push(ChoiceGroup {
            label: "Members",
            options: members
                .into_iter()
                .map(|m| option("member", m.id.get(), m.name))
                .collect(),
        });
    }
    if actor.holds(P::WorkgroupsView) {
        let workgroups = app.people().list_workgroups(actor).await?;
        groups.push(ChoiceGroup {
            label: "Workgroups",
            options: workgroups
                .into_iter()
                .map(|w| option("workgroup", w.id.get(), w.name))
                .collect(),
        });
    }
    if actor.holds(P::PrintersView) {
        let printers = app.fleet().all_visible_printers(actor).await?;
        groups.push(ChoiceGroup {
            label: "Printers",
            options: printers
                .into_iter()
                .map(|p| option("printer", p.id.get(), p.name))
                .collect(),
        });
        let models = app.fleet().list_printer_models(actor).await?;
        groups.push(ChoiceGroup {
            label: "Printer models",
            options: models
                .into_iter()
                .map(|m| option("printer_model", m.id.get(), m.name))
                .collect(),
        });
    }
    groups.retain(|g| !g.options.is_empty());
    Ok(groups)
}

/// The usage report page (`billing.view_reports`).
pub(crate) async fn usage(
    State(state): State<WebState>,
    member: InOrg,
    Query(filters): Query<ReportFilters>,
) -> Page {
    let framed = |e: AppError| UiError::from(e).framed(&member);
    let org = state
        .app
        .people()
        .get_org(&member.actor)
        .await
        .map_err(framed)?;
    let calendar = Calendar::or_utc(&org.time_zone);
    let choices = choices(&state, &member, &filters.subject)
        .await
        .map_err(|e| e.framed(&member))?;
    let mut page = ReportsPage {
        layout: Layout::in_org(&member, "Usage reports", "reports"),
        org_id: member.actor.org().get(),
        from: filters.from.trim().to_string(),
        to: filters.to.trim().to_string(),
        period: "day",
        per: "member",
        choices,
        problem: String::new(),
        report: None,
    };
    let asked = match read_filters(&filters, &calendar, state.app.now()) {
        Ok(asked) => asked,
        Err(problem) => {
            page.problem = problem;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    page.period = period_key(asked.period);
    page.per = asked.per.key();
    let last_day = asked.to.plus_seconds(-1).max(asked.from);
    page.from = calendar.day_of(asked.from).unwrap_or_default();
    page.to = calendar.day_of(last_day).unwrap_or_default();
    match figures(&state, &member, &calendar, &org.currency, &asked).await {
        Ok(figures) => {
            page.report = Some(figures);
            Ok(render(StatusCode::OK, &page))
        }
        Err(AppError::Invalid(invalid)) => {
            page.problem = format!(
                "The {} day {}.",
                if invalid.field == "to" {
                    "last"
                } else {
                    "first"
                },
                invalid.message
            );
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(framed(other)),
    }
}

/// Whether a report row is the chosen subject's (every row when there is none).
fn chosen(subject: Option<(ReportGroup, i64)>, group: ReportGroup, id: Option<i64>) -> bool {
    match subject {
        None => true,
        Some((kind, wanted)) => kind != group || id == Some(wanted),
    }
}

fn add(total: &mut Usage, more: &Usage) {
    total.prints = total.prints.saturating_add(more.prints);
    total.seconds = total.seconds.saturating_add(more.seconds);
    total.grams = total.grams.saturating_add(more.grams);
    total.cost_minor = total.cost_minor.saturating_add(more.cost_minor);
}

async fn figures(
    state: &WebState,
    member: &InOrg,
    calendar: &Calendar,
    currency: &str,
    asked: &Asked,
) -> Result<Figures, AppError> {
    let app = &state.app;
    let actor = &member.actor;
    let query = |group_by, period| ReportQuery {
        group_by,
        period,
        from: Some(asked.from),
        to: Some(asked.to),
    };
    // Over time: per member unless a workgroup, printer or model is chosen, so that each job
    // counts once.
    let over_time_group = asked
        .subject
        .map_or(ReportGroup::Member, |(group, _)| group);
    let timeline = app
        .usage_report(actor, query(over_time_group, Some(asked.period)))
        .await?;
    let mut buckets: BTreeMap<i64, Usage> = BTreeMap::new();
    let mut start = calendar
        .window(asked.period, asked.from, None)
        .map_err(AppError::internal)?
        .start;
    while start < asked.to && buckets.len() < MAX_BARS {
        buckets.insert(start.micros(), Usage::default());
        start = calendar
            .window(asked.period, start, None)
            .map_err(AppError::internal)?
            .end;
    }
    let mut jobs = 0;
    for row in &timeline.rows {
        if !chosen(asked.subject, over_time_group, row.id) {
            continue;
        }
        jobs += row.jobs;
        if let Some(at) = row.period_start {
            add(buckets.entry(at.micros()).or_default(), &row.usage);
        }
    }
    let mut total = Usage::default();
    for usage in buckets.values() {
        add(&mut total, usage);
    }
    let period_label = |micros: i64| {
        let day = calendar
            .day_of(Timestamp::from_micros(micros))
            .unwrap_or_default();
        match asked.period {
            QuotaPeriod::Month => day.get(..7).unwrap_or(&day).to_string(),
            _ => day,
        }
    };
    let money = |minor: i64| format_money(minor, currency);
    let spend_points: Vec<_> = buckets
        .iter()
        .map(|(at, u)| (period_label(*at), u.cost_minor as f64, money(u.cost_minor)))
        .collect();
    let hour_points: Vec<_> = buckets
        .iter()
        .map(|(at, u)| {
            (
                period_label(*at),
                u.seconds as f64 / 3600.0,
                hours(u.seconds),
            )
        })
        .collect();
    let per_what = period_key(asked.period);

    let table = app.usage_report(actor, query(asked.per, None)).await?;
    let mut table_rows: Vec<_> = table
        .rows
        .into_iter()
        .filter(|row| chosen(asked.subject, asked.per, row.id))
        .collect();
    table_rows.sort_by_key(|row| std::cmp::Reverse(row.usage.cost_minor));

    let utilisation = utilisation(state, member, asked).await?;
    let csv = serde_urlencoded::to_string([
        ("group_by", asked.per.key()),
        ("period", per_what),
        ("from", asked.from.to_rfc3339().as_str()),
        ("to", asked.to.to_rfc3339().as_str()),
    ])
    .unwrap_or_default();
    Ok(Figures {
        time_zone: timeline.time_zone.clone(),
        spend: money(total.cost_minor),
        hours: hours(total.seconds),
        jobs,
        prints: total.prints,
        grams: total.grams,
        spend_chart: charts::over_time(
            "spend",
            &format!("Spend per {per_what}"),
            &spend_points,
            |max| money(max.round() as i64),
        ),
        hours_chart: charts::over_time(
            "hours",
            &format!("Printing hours per {per_what}"),
            &hour_points,
            |max| format!("{max:.1} h"),
        ),
        utilisation,
        rows_label: group_label(asked.per),
        rows: table_rows
            .into_iter()
            .map(|row| TableRow {
                name: row.name,
                jobs: row.jobs,
                prints: row.usage.prints,
                hours: hours(row.usage.seconds),
                grams: row.usage.grams,
                cost: money(row.usage.cost_minor),
            })
            .collect(),
        csv: format!("/api/v1/orgs/{}/reports/usage.csv?{csv}", actor.org()),
    })
}

/// Each printer's printing hours as a share of the period's hours (every member's jobs; only
/// the chosen printer, or the chosen model's printers, when one is chosen).
async fn utilisation(state: &WebState, member: &InOrg, asked: &Asked) -> Result<Chart, AppError> {
    let actor = &member.actor;
    let report = state
        .app
        .usage_report(
            actor,
            ReportQuery {
                group_by: ReportGroup::Printer,
                period: None,
                from: Some(asked.from),
                to: Some(asked.to),
            },
        )
        .await?;
    let seconds: HashMap<i64, i64> = report
        .rows
        .iter()
        .filter_map(|row| Some((row.id?, row.usage.seconds)))
        .collect();
    let printers = if actor.holds(P::PrintersView) {
        state.app.fleet().all_visible_printers(actor).await?
    } else {
        Vec::new()
    };
    let span = asked.from.seconds_until(asked.to).max(1) as f64;
    let mut rows: Vec<(String, f64, String)> = printers
        .into_iter()
        .filter(|p| match asked.subject {
            Some((ReportGroup::Printer, id)) => p.id.get() == id,
            Some((ReportGroup::PrinterModel, id)) => p.model_id.is_some_and(|m| m.get() == id),
            _ => true,
        })
        .map(|p| {
            let share = seconds.get(&p.id.get()).copied().unwrap_or(0) as f64 / span;
            (p.name, share, format!("{:.0}%", share * 100.0))
        })
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(charts::shares("utilisation", "Printer utilisation", &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_a_kind_and_a_number() {
        assert_eq!(parse_subject(""), Ok(None));
        assert_eq!(
            parse_subject("printer:4").map(|s| s.map(|(g, id)| (g.key(), id))),
            Ok(Some(("printer", 4)))
        );
        assert!(parse_subject("printer").is_err());
        assert!(parse_subject("galaxy:4").is_err());
        assert!(parse_subject("member:x").is_err());
    }

    #[test]
    fn filters_read_days_in_the_organization_s_calendar() {
        let calendar = Calendar::or_utc("UTC");
        let now = Timestamp::parse_rfc3339("2026-06-15T10:00:00Z").unwrap();
        let asked = read_filters(&ReportFilters::default(), &calendar, now).unwrap();
        assert_eq!(asked.from.to_rfc3339(), "2026-06-01T00:00:00Z");
        assert_eq!(asked.to.to_rfc3339(), "2026-07-01T00:00:00Z");
        let filters = ReportFilters {
            from: "2026-05-03".into(),
            to: "2026-05-03".into(),
            period: "week".into(),
            ..ReportFilters::default()
        };
        let asked = read_filters(&filters, &calendar, now).unwrap();
        assert_eq!(asked.from.to_rfc3339(), "2026-05-03T00:00:00Z");
        assert_eq!(asked.to.to_rfc3339(), "2026-05-04T00:00:00Z");
        let bad = ReportFilters {
            from: "yesterday".into(),
            ..ReportFilters::default()
        };
        assert!(
            read_filters(&bad, &calendar, now)
                .unwrap_err()
                .contains("yesterday")
        );
    }
}
