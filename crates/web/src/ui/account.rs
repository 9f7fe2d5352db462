//! A member's own account in the organization: what they have used of each allowance, their
//! balance, and the latest movements of it.

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::money::LedgerKind;
use domain::quotas::{
    AllowanceSource, Calendar, QuotaKind, QuotaPeriod, format_amount, format_money,
};
use serde::Deserialize;

use super::error::{UiError, render};
use super::session::{InOrg, checked_form};
use super::views::{self, Layout};
use crate::WebState;

/// How many ledger entries the page shows.
const LEDGER_LINES: u32 = 20;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    org_id: i64,
    /// Someone else's account (for those who keep the books): their name; empty for your own.
    whose: String,
    /// Where the top-up and adjustment forms post, for those who may move money; else empty.
    money_path: String,
    currency: String,
    balance: String,
    held: String,
    available: String,
    time_zone: String,
    allowances: Vec<AllowanceLine>,
    ledger: Vec<LedgerLine>,
    requests: Vec<RequestLine>,
    notice: &'static str,
}

/// A request for more, as its member and its approvers read it.
struct RequestLine {
    id: i64,
    who: String,
    what: String,
    asked: String,
    reason: String,
    state: &'static str,
    answer: String,
    at: String,
}

struct AllowanceLine {
    /// The form's value for asking more of it: `kind:period[:range]`.
    key: String,
    /// The unit a new limit is given in.
    unit: &'static str,
    what: String,
    used: String,
    limit: String,
    /// Used as a share of the limit, 0 to 100, for the bar.
    percent: i64,
    from: &'static str,
    resets: String,
    exempt: bool,
}

struct LedgerLine {
    at: String,
    kind: &'static str,
    amount: String,
    held: String,
    reason: String,
    job_id: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

/// The signed-in member's allowances, balance, latest ledger entries and requests for more.
pub(crate) async fn account(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let me = member.actor.member_id();
    account_page(&state, &member, me, done).await
}

/// A member's account as those who keep the books see it (`billing.view.all`), with the
/// top-up and adjustment forms for those who may move money (`billing.manage`).
pub(crate) async fn member_account(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Page {
    let id = id.parse::<i64>().map_err(|_| UiError::NotFound)?;
    account_page(&state, &member, domain::MemberId(id), done).await
}

async fn account_page(
    state: &WebState,
    member: &InOrg,
    whose: domain::MemberId,
    done: Done,
) -> Page {
    let me = whose;
    let own = whose == member.actor.member_id();
    let usage = state.app.quotas().usage(&member.actor, me).await;
    let usage = usage.map_err(|e| UiError::from(e).framed(member))?;
    let balance = state.app.billing().balance(&member.actor, me).await;
    let (balance, currency) = balance.map_err(|e| UiError::from(e).framed(member))?;
    let ledger = state
        .app
        .billing()
        .ledger(&member.actor, me, None, Some(LEDGER_LINES))
        .await
        .map_err(|e| UiError::from(e).framed(member))?;
    let requests = if own {
        let requests = state.app.quotas().requests(&member.actor).await;
        let requests = requests.map_err(|e| UiError::from(e).framed(member))?;
        let mine = requests.into_iter().filter(|r| r.member_id == me);
        request_lines(state, member, mine.collect()).await?
    } else {
        Vec::new()
    };
    let whose_name = if own {
        String::new()
    } else {
        let found = state.app.people().get_member(&member.actor, whose).await;
        found.map_err(|e| UiError::from(e).framed(member))?.name
    };
    let money_path = if member.actor.holds(authz::Permission::BillingManage) {
        format!("/orgs/{}/members/{}", member.actor.org(), whose.get())
    } else {
        String::new()
    };
    let calendar = Calendar::or_utc(&usage.time_zone);
    let money = |minor| format_money(minor, &currency);
    let page = AccountPage {
        layout: Layout::in_org(
            member,
            if own {
                "Your account"
            } else {
                "A member's account"
            },
            if own { "account" } else { "members" },
        ),
        org_id: member.actor.org().get(),
        whose: whose_name,
        money_path,
        currency: currency.clone(),
        balance: money(balance.balance_minor),
        held: money(balance.held_minor),
        available: money(balance.available_minor),
        time_zone: usage.time_zone.clone(),
        allowances: usage
            .lines
            .into_iter()
            .map(|line| {
                let amount = |n| format_amount(line.allowance.kind, n, &usage.currency);
                AllowanceLine {
                    key: allowance_key(line.allowance.kind, line.allowance.period),
                    unit: unit_label(line.allowance.kind),
                    what: allowance_label(line.allowance.kind, line.allowance.period),
                    used: amount(line.used),
                    limit: amount(line.limit),
                    percent: share(line.used, line.limit),
                    from: source_label(line.source),
                    resets: line
                        .resets_at
                        .map(|at| calendar.describe(at))
                        .unwrap_or_default(),
                    exempt: line.exempt,
                }
            })
            .collect(),
        ledger: ledger
            .entries
            .into_iter()
            .map(|entry| LedgerLine {
                at: views::when(entry.created_at),
                kind: ledger_label(entry.kind),
                amount: money(entry.amount_minor),
                held: money(entry.hold_minor),
                reason: entry.reason,
                job_id: entry.job_id.map(|id| id.get()),
            })
            .collect(),
        requests,
        notice: match done.done.as_deref() {
            Some("asked") => "Your request was sent; you will read the answer here.",
            Some("moved") => "The balance was changed; the movement is in the ledger.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct MoneyForm {
    /// `top_up` or `adjustment`.
    kind: String,
    amount: String,
    #[serde(default)]
    reason: String,
}

/// Tops up or adjusts a member's balance (`billing.manage`), in the organization's currency.
pub(crate) async fn move_money(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: MoneyForm = checked_form(&member.viewer, request).await?;
    let whose = domain::MemberId(id.parse::<i64>().map_err(|_| UiError::NotFound)?);
    let (_, currency) = state
        .app
        .billing()
        .balance(&member.actor, whose)
        .await
        .map_err(|e| UiError::from(e).framed(&member))?;
    let digits = domain::money::minor_digits(&currency);
    let amount_minor = parse_money(&form.amount, digits).ok_or_else(|| {
        UiError::BadForm(format!(
            "the amount must be a number of {currency} with at most {digits} decimals, such as 12.50"
        ))
        .framed(&member)
    })?;
    let movement = app::Movement {
        amount_minor,
        reason: form.reason,
        job_id: None,
    };
    let billing = state.app.billing();
    let moved = match form.kind.as_str() {
        "top_up" => billing.top_up(&member.actor, whose, movement).await,
        "adjustment" => billing.adjust(&member.actor, whose, movement).await,
        _ => return Err(UiError::BadForm("top up or adjust".into()).framed(&member)),
    };
    moved.map_err(|e| UiError::from(e).framed(&member))?;
    let to = format!(
        "/orgs/{}/members/{}/account?done=moved",
        member.actor.org(),
        whose.get()
    );
    Ok(Redirect::to(&to).into_response())
}

/// `12.50` (or `-3`, `0.5`) as minor units of a currency with `digits` decimals.
pub(crate) fn parse_money(text: &str, digits: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > digits as usize
    {
        return None;
    }
    let scale = 10_i64.checked_pow(digits)?;
    let fraction_scale = 10_i64.checked_pow(digits - fraction.len() as u32)?;
    let fraction: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let minor = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction.checked_mul(fraction_scale)?)?;
    Some(if negative { -minor } else { minor })
}

#[derive(Deserialize)]
pub(crate) struct AskForm {
    allowance: String,
    limit: String,
    #[serde(default)]
    reason: String,
}

/// A member asks for a higher limit of one of their allowances, with a reason.
pub(crate) async fn ask(State(state): State<WebState>, member: InOrg, request: Request) -> Page {
    let form: AskForm = checked_form(&member.viewer, request).await?;
    let (kind, period) = parse_allowance_key(&form.allowance)
        .ok_or_else(|| UiError::BadForm("choose one of your allowances".into()).framed(&member))?;
    let limit = form.limit.trim().parse::<i64>().map_err(|_| {
        UiError::BadForm("the new limit must be a whole number".into()).framed(&member)
    })?;
    let input = app::RequestQuota {
        kind,
        period,
        limit,
        reason: form.reason,
    };
    let asked = state.app.quotas().request(&member.actor, input).await;
    asked.map_err(|e| UiError::from(e).framed(&member))?;
    let to = format!("/orgs/{}/account?done=asked", member.actor.org());
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "quota_requests.html")]
struct RequestsPage {
    layout: Layout,
    org_id: i64,
    pending: Vec<RequestLine>,
    decided: Vec<RequestLine>,
    notice: &'static str,
}

/// Requests for more from the members, pending first, for those who answer them.
pub(crate) async fn requests(
    State(state): State<WebState>,
    member: InOrg,
    Query(done): Query<Done>,
) -> Page {
    let all = state.app.quotas().requests(&member.actor).await;
    let all = all.map_err(|e| UiError::from(e).framed(&member))?;
    let (pending, decided): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.state == "pending");
    let page = RequestsPage {
        layout: Layout::in_org(&member, "Quota requests", "quota-requests"),
        org_id: member.actor.org().get(),
        pending: request_lines(&state, &member, pending).await?,
        decided: request_lines(&state, &member, decided).await?,
        notice: match done.done.as_deref() {
            Some("approved") => "The request was approved; the member's new limit applies now.",
            Some("declined") => "The request was declined; the member reads your reason.",
            _ => "",
        },
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    decision: String,
    #[serde(default)]
    limit: String,
    #[serde(default)]
    reason: String,
}

/// Approves a request (for what was asked, or less) or declines it with a reason.
pub(crate) async fn decide(
    State(state): State<WebState>,
    member: InOrg,
    Path((_, id)): Path<(String, String)>,
    request: Request,
) -> Page {
    let form: DecideForm = checked_form(&member.viewer, request).await?;
    let not_found = || UiError::NotFound;
    let id = id.parse::<i64>().map_err(|_| not_found())?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(UiError::BadForm("approve or decline".into()).framed(&member)),
    };
    let limit = match form.limit.trim() {
        "" => None,
        text => Some(text.parse::<i64>().map_err(|_| {
            UiError::BadForm("the granted limit must be a whole number".into()).framed(&member)
        })?),
    };
    let decision = app::DecideQuotaRequest {
        approve,
        limit,
        reason: form.reason,
    };
    let decided = state
        .app
        .quotas()
        .decide(&member.actor, domain::QuotaRequestId(id), decision)
        .await;
    decided.map_err(|e| UiError::from(e).framed(&member))?;
    let done = if approve { "approved" } else { "declined" };
    let to = format!("/orgs/{}/quota-requests?done={done}", member.actor.org());
    Ok(Redirect::to(&to).into_response())
}

async fn request_lines(
    state: &WebState,
    member: &InOrg,
    requests: Vec<app::QuotaRequest>,
) -> Result<Vec<RequestLine>, UiError> {
    let names: std::collections::HashMap<i64, String> = if requests
        .iter()
        .any(|r| r.member_id != member.actor.member_id())
    {
        let members = state.app.people().list_members(&member.actor).await;
        let members = members.map_err(|e| UiError::from(e).framed(member))?;
        members.into_iter().map(|m| (m.id.get(), m.name)).collect()
    } else {
        Default::default()
    };
    Ok(requests
        .into_iter()
        .map(|r| {
            let unit = unit_label(r.kind);
            RequestLine {
                id: r.id.get(),
                who: names
                    .get(&r.member_id.get())
                    .cloned()
                    .unwrap_or_else(|| "You".into()),
                what: allowance_label(r.kind, r.period),
                asked: format!("{} {unit}", r.requested_limit),
                reason: r.reason,
                state: match r.state.as_str() {
                    "approved" => "Approved",
                    "declined" => "Declined",
                    _ => "Waiting for an answer",
                },
                answer: match (r.granted_limit, r.answer) {
                    (Some(granted), Some(answer)) if !answer.is_empty() => {
                        format!("{granted} {unit} granted: {answer}")
                    }
                    (Some(granted), _) => format!("{granted} {unit} granted"),
                    (None, Some(answer)) => answer,
                    (None, None) => String::new(),
                },
                at: views::when(r.created_at),
            }
        })
        .collect())
}

/// `kind:period` (`prints:week`, `printing_hours:range:3`, `max_active_jobs:none`).
fn allowance_key(kind: QuotaKind, period: Option<QuotaPeriod>) -> String {
    match period {
        Some(QuotaPeriod::Range(id)) => format!("{}:range:{}", kind.key(), id.get()),
        Some(period) => format!("{}:{}", kind.key(), period.key()),
        None => format!("{}:none", kind.key()),
    }
}

fn parse_allowance_key(key: &str) -> Option<(QuotaKind, Option<QuotaPeriod>)> {
    let mut parts = key.splitn(3, ':');
    let kind = QuotaKind::parse(parts.next()?)?;
    let period_key = parts.next()?;
    let range = match parts.next() {
        Some(id) => Some(id.parse::<i64>().ok()?),
        None => None,
    };
    let period = QuotaPeriod::from_parts(period_key, range)?;
    Some((kind, period))
}

/// The unit a limit of this kind is given in.
fn unit_label(kind: QuotaKind) -> &'static str {
    match kind {
        QuotaKind::Prints => "prints",
        QuotaKind::PrintingHours => "hours",
        QuotaKind::MaterialGrams => "grams",
        QuotaKind::CostMinor => "in cents (minor units)",
        QuotaKind::MaxJobDurationS => "seconds",
        QuotaKind::MaxActiveJobs => "jobs",
    }
}

type Page = Result<Response, UiError>;

/// The dashboard's line about the member's account: what they may spend, and the allowance
/// they are closest to.
pub(crate) struct Glance {
    pub available: String,
    pub closest: Option<String>,
}

/// The member's [`Glance`]; `None` for those who may not submit jobs (nothing to count).
pub(crate) async fn glance(
    state: &WebState,
    actor: &app::OrgActor,
) -> app::AppResult<Option<Glance>> {
    if !actor.holds(authz::Permission::QueueSubmit) {
        return Ok(None);
    }
    let me = actor.member_id();
    let usage = state.app.quotas().usage(actor, me).await?;
    let (balance, currency) = state.app.billing().balance(actor, me).await?;
    let closest = usage
        .lines
        .iter()
        .filter(|line| !line.exempt && line.allowance.kind != QuotaKind::MaxJobDurationS)
        .max_by_key(|line| share(line.used, line.limit))
        .map(|line| {
            let amount = |n| format_amount(line.allowance.kind, n, &usage.currency);
            format!(
                "{}: {} of {}",
                allowance_label(line.allowance.kind, line.allowance.period),
                amount(line.used),
                amount(line.limit)
            )
        });
    Ok(Some(Glance {
        available: format_money(balance.available_minor, &currency),
        closest,
    }))
}

fn share(used: i64, limit: i64) -> i64 {
    if limit <= 0 {
        return 100;
    }
    (used.saturating_mul(100) / limit).clamp(0, 100)
}

fn allowance_label(kind: QuotaKind, period: Option<QuotaPeriod>) -> String {
    let what = match kind {
        QuotaKind::Prints => "Prints",
        QuotaKind::PrintingHours => "Printing time",
        QuotaKind::MaterialGrams => "Material",
        QuotaKind::CostMinor => "Spending",
        QuotaKind::MaxJobDurationS => "Longest single print",
        QuotaKind::MaxActiveJobs => "Jobs waiting or printing at once",
    };
    match period {
        Some(QuotaPeriod::Day) => format!("{what} per day"),
        Some(QuotaPeriod::Week) => format!("{what} per week"),
        Some(QuotaPeriod::Month) => format!("{what} per month"),
        Some(QuotaPeriod::Range(_)) => format!("{what} this term"),
        None => what.to_string(),
    }
}

fn source_label(source: AllowanceSource) -> &'static str {
    match source {
        AllowanceSource::Organization => "the organization's default",
        AllowanceSource::Workgroup(_) => "your workgroup",
        AllowanceSource::Member => "set for you",
    }
}

fn ledger_label(kind: LedgerKind) -> &'static str {
    match kind {
        LedgerKind::TopUp => "Top-up",
        LedgerKind::Hold => "Held for a job",
        LedgerKind::Charge => "Charge",
        LedgerKind::Release => "Hold released",
        LedgerKind::Refund => "Refund",
        LedgerKind::Adjustment => "Adjustment",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_keys_round_trip() {
        let periods = [
            None,
            Some(QuotaPeriod::Day),
            Some(QuotaPeriod::Week),
            Some(QuotaPeriod::Month),
            Some(QuotaPeriod::Range(domain::QuotaPeriodId(7))),
        ];
        for kind in QuotaKind::ALL {
            for period in periods {
                let key = allowance_key(kind, period);
                assert_eq!(parse_allowance_key(&key), Some((kind, period)), "{key}");
            }
        }
        assert_eq!(parse_allowance_key("prints:fortnight"), None);
        assert_eq!(parse_allowance_key("prints:range:x"), None);
        assert_eq!(parse_allowance_key(""), None);
    }

    #[test]
    fn money_is_read_in_the_currencys_minor_units() {
        assert_eq!(parse_money("12.50", 2), Some(1250));
        assert_eq!(parse_money(" 12.5 ", 2), Some(1250));
        assert_eq!(parse_money("12", 2), Some(1200));
        assert_eq!(parse_money("-3.05", 2), Some(-305));
        assert_eq!(parse_money("1500", 0), Some(1500));
        assert_eq!(parse_money("1.5", 0), None);
        assert_eq!(parse_money("12.505", 2), None);
        assert_eq!(parse_money("", 2), None);
        assert_eq!(parse_money(".5", 2), None);
        assert_eq!(parse_money("1e3", 2), None);
        assert_eq!(parse_money("99999999999999999999", 2), None);
    }

    #[test]
    fn the_bar_stays_within_its_track() {
        assert_eq!(share(5, 10), 50);
        assert_eq!(share(15, 10), 100);
        assert_eq!(share(0, 0), 100);
        assert_eq!(share(-3, 10), 0);
    }
}
