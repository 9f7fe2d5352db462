//! A member's own account in the organization: what they have used of each allowance, their
//! balance, and the latest movements of it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::money::LedgerKind;
use domain::quotas::{
    AllowanceSource, Calendar, QuotaKind, QuotaPeriod, format_amount, format_money,
};

use super::error::{UiError, render};
use super::session::InOrg;
use super::views::{self, Layout};
use crate::WebState;

/// How many ledger entries the page shows.
const LEDGER_LINES: u32 = 20;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    org_id: i64,
    balance: String,
    held: String,
    available: String,
    time_zone: String,
    allowances: Vec<AllowanceLine>,
    ledger: Vec<LedgerLine>,
}

struct AllowanceLine {
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

/// The signed-in member's allowances, balance and latest ledger entries.
pub(crate) async fn account(State(state): State<WebState>, member: InOrg) -> Page {
    let me = member.actor.member_id();
    let usage = state.app.quotas().usage(&member.actor, me).await;
    let usage = usage.map_err(|e| UiError::from(e).framed(&member))?;
    let balance = state.app.billing().balance(&member.actor, me).await;
    let (balance, currency) = balance.map_err(|e| UiError::from(e).framed(&member))?;
    let ledger = state
        .app
        .billing()
        .ledger(&member.actor, me, None, Some(LEDGER_LINES))
        .await
        .map_err(|e| UiError::from(e).framed(&member))?;
    let calendar = Calendar::or_utc(&usage.time_zone);
    let money = |minor| format_money(minor, &currency);
    let page = AccountPage {
        layout: Layout::in_org(&member, "Your account", "account"),
        org_id: member.actor.org().get(),
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
    };
    Ok(render(StatusCode::OK, &page))
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
    fn the_bar_stays_within_its_track() {
        assert_eq!(share(5, 10), 50);
        assert_eq!(share(15, 10), 100);
        assert_eq!(share(0, 0), 100);
        assert_eq!(share(-3, 10), 0);
    }
}
