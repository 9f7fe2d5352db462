//! Usage reports: spend and printing hours over time and each printer's utilisation, drawn
//! as server-rendered SVG from the reports use case, filtered by period and by any of a site,
//! member, workgroup, printer and printer model together, with the table of figures and its
//! CSV export (which follows the same filters).

use std::collections::{BTreeMap, HashMap};

use app::{AppError, ReportFilter, ReportGroup, ReportQuery};
use askama::Template;
use authz::Permission as P;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::quotas::{Calendar, QuotaPeriod, Usage, format_money};
use domain::{MemberId, PrinterId, PrinterModelId, SiteId, Timestamp, WorkgroupId};
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
    /// Each filter an ID, or empty for any; they combine (a job counts when it matches all).
    #[serde(default)]
    site: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    workgroup: String,
    #[serde(default)]
    printer: String,
    #[serde(default)]
    model: String,
    /// The table's rows: `member`, `workgroup`, `printer`, `printer_model`.
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
    selects: Vec<FilterSelect>,
    problem: String,
    /// Empty when a problem kept the report from being made.
    report: Option<Figures>,
}

/// One filter of the form: a select of what the viewer may list, "any" first.
struct FilterSelect {
    /// The query parameter.
    name: &'static str,
    label: &'static str,
    any: &'static str,
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

/// One filter's ID; empty is "any".
fn filter_id<T: std::str::FromStr>(text: &str, what: &str) -> Result<Option<T>, String> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| format!("Choose the {what} from the list.")),
    }
}

fn parse_only(filters: &ReportFilters) -> Result<ReportFilter, String> {
    Ok(ReportFilter {
        site: filter_id::<SiteId>(&filters.site, "site")?,
        member: filter_id::<MemberId>(&filters.member, "member")?,
        workgroup: filter_id::<WorkgroupId>(&filters.workgroup, "workgroup")?,
        printer: filter_id::<PrinterId>(&filters.printer, "printer")?,
        printer_model: filter_id::<PrinterModelId>(&filters.model, "printer model")?,
    })
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
    only: ReportFilter,
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
    let only = parse_only(filters)?;
    let per = match filters.per.trim() {
        "" => ReportGroup::Member,
        text => group_key(text).ok_or("Choose what the table's rows are per.")?,
    };
    Ok(Asked {
        from,
        to,
        period,
        only,
        per,
    })
}

/// What the filters may pick: the sites, members, workgroups, printers and models the viewer
/// may list (each select only with its permission).
async fn selects(
    state: &WebState,
    member: &InOrg,
    filters: &ReportFilters,
) -> Result<Vec<FilterSelect>, UiError> {
    let actor = &member.actor;
    let app = &state.app;
    let select = |name, label, any, chosen: &str, options: Vec<(i64, String)>| FilterSelect {
        name,
        label,
        any,
        options: options
            .into_iter()
            .map(|(id, name)| Choice {
                selected: id.to_string() == chosen.trim(),
                value: id.to_string(),
                name,
            })
            .collect(),
    };
    let mut selects = Vec::new();
    if actor.holds(P::SitesView) {
        let sites = app.people().list_sites(actor).await?;
        let sites = sites.into_iter().map(|s| (s.id.get(), s.name)).collect();
        selects.push(select("site", "Site", "Any site", &filters.site, sites));
    }
    if actor.holds(P::MembersView) {
        let mut members = app.people().list_members(actor).await?;
        members.sort_by_key(|m| m.name.to_lowercase());
        let members = members.into_iter().map(|m| (m.id.get(), m.name)).collect();
        selects.push(select(
            "member",
            "Member",
            "Anyone",
            &filters.member,
            members,
        ));
    }
    if actor.holds(P::WorkgroupsView) {
        let workgroups = app.people().list_workgroups(actor).await?;
        let workgroups = workgroups.into_iter().map(|w| (w.id.get(), w.name));
        let chosen = &filters.workgroup;
        let any = "Any workgroup";
        selects.push(select(
            "workgroup",
            "Workgroup",
            any,
            chosen,
            workgroups.collect(),
        ));
    }
    if actor.holds(P::PrintersView) {
        let printers = app.fleet().all_visible_printers(actor).await?;
        let printers = printers.into_iter().map(|p| (p.id.get(), p.name)).collect();
        selects.push(select(
            "printer",
            "Printer",
            "Any printer",
            &filters.printer,
            printers,
        ));
        let models = app.fleet().list_printer_models(actor).await?;
        let models = models.into_iter().map(|m| (m.id.get(), m.name)).collect();
        selects.push(select(
            "model",
            "Printer model",
            "Any model",
            &filters.model,
            models,
        ));
    }
    selects.retain(|s| !s.options.is_empty());
    Ok(selects)
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
    let selects = selects(&state, &member, &filters)
        .await
        .map_err(|e| e.framed(&member))?;
    let mut page = ReportsPage {
        layout: Layout::in_org(&member, "Usage reports", "reports"),
        org_id: member.actor.org().get(),
        from: filters.from.trim().to_string(),
        to: filters.to.trim().to_string(),
        period: "day",
        per: "member",
        selects,
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
        only: asked.only,
    };
    // Over time: per member, so that each job counts once.
    let timeline = app
        .usage_report(actor, query(ReportGroup::Member, Some(asked.period)))
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
    let mut table_rows = table.rows;
    table_rows.sort_by_key(|row| std::cmp::Reverse(row.usage.cost_minor));

    let utilisation = utilisation(state, member, asked).await?;
    let csv = serde_urlencoded::to_string(csv_query(asked, per_what)).unwrap_or_default();
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

/// The CSV export's query: the page's stretch, rows and filters, as the API names them.
fn csv_query(asked: &Asked, period: &str) -> Vec<(&'static str, String)> {
    let only = asked.only;
    let mut query = vec![
        ("group_by", asked.per.key().to_string()),
        ("period", period.to_string()),
        ("from", asked.from.to_rfc3339()),
        ("to", asked.to.to_rfc3339()),
    ];
    let filters = [
        ("site_id", only.site.map(SiteId::get)),
        ("member_id", only.member.map(MemberId::get)),
        ("workgroup_id", only.workgroup.map(WorkgroupId::get)),
        ("printer_id", only.printer.map(PrinterId::get)),
        (
            "printer_model_id",
            only.printer_model.map(PrinterModelId::get),
        ),
    ];
    query.extend(
        filters
            .into_iter()
            .filter_map(|(key, id)| Some((key, id?.to_string()))),
    );
    query
}

/// Each printer's printing hours as a share of the period's hours, counting only the jobs the
/// filters let through, for the printers of the chosen site, printer and model.
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
                only: asked.only,
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
        .filter(|p| {
            let only = asked.only;
            only.printer.is_none_or(|id| p.id == id)
                && only.site.is_none_or(|id| p.site_id == id)
                && only.printer_model.is_none_or(|id| p.model_id == Some(id))
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
    fn filters_are_ids_or_empty_and_combine() {
        let filters = ReportFilters {
            site: "2".into(),
            member: " ".into(),
            model: "7".into(),
            ..ReportFilters::default()
        };
        let only = parse_only(&filters).unwrap();
        assert_eq!(only.site, Some(SiteId(2)));
        assert_eq!(only.member, None);
        assert_eq!(only.printer_model, Some(PrinterModelId(7)));
        for bad in ["x", "0", "-3", "printer:4"] {
            let filters = ReportFilters {
                printer: bad.into(),
                ..ReportFilters::default()
            };
            assert!(
                parse_only(&filters).unwrap_err().contains("printer"),
                "{bad}"
            );
        }
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
