//! Money: prices, the organization's billing settings, and each member's balance, kept by a
//! [`BalanceProvider`] (the internal append-only ledger, [`LedgerProvider`], by default).
//!
//! A job's estimate is held when it is submitted (the hold is a ledger entry that moves the
//! held amount, not the balance); when it ends its final cost is charged and the hold
//! released; rejection or cancellation before it printed releases the hold. A submission whose
//! estimate the available balance (balance less holds) does not cover is refused with 422
//! `insufficient_balance`, unless the member holds `billing.print_on_insufficient_balance`, and
//! then only down to the organization's floor, if it has one. The check and the hold happen in
//! the submission's unit of work with the member's account locked, so concurrent submissions
//! cannot together spend more than the balance.

use authz::{Permission, Policy};
use domain::money::{
    Cost, FailedPrintCharge, HoldAt, LedgerKind, MAX_AMOUNT_MINOR, Price, check_prices,
};
use domain::quotas::format_money;
use domain::{Invalid, Job, JobId, JobState, LedgerEntryId, MemberId, OrgId, Organization};
use futures::future::BoxFuture;
use serde_json::json;
use store::{BillingSettings, JobUsage, LedgerEntry, NewLedgerEntry};

use crate::App;
use crate::actor::OrgActor;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::quotas::JobNeeds;
use crate::unit_of_work::{Audit, Changes, Found, UnitOfWork};

/// Longest reason of a top-up, adjustment or refund.
pub const MAX_LEDGER_REASON_CHARS: usize = 500;

/// Where members' money is kept. Farmhand asks the provider inside the unit of work of the
/// change that needs it (a submission, a job's end, a top-up), with the member's account
/// locked ([`store::lock_member_account`]) and the database transaction open.
///
/// What a provider must guarantee:
/// - **Atomic with the unit of work.** An entry posted in a unit of work that rolls back never
///   happened; one posted in a unit that commits is never lost. (An external system, such as
///   PaperCut or CBORD, therefore records entries in Farmhand's transaction and forwards them
///   after commit, idempotently by entry ID, or takes part in a two-phase commit.)
/// - **Read-your-writes.** [`BalanceProvider::balance`] reflects every entry posted before it
///   in the same unit of work and every committed one.
/// - **The balance is the sum of the entries** (`amount_minor`), the held amount the sum of
///   `hold_minor`: nothing changes either except by an entry, and entries are never changed or
///   removed.
/// - **Serialized per member.** Two units of work for one member never interleave their reads
///   and posts (Farmhand locks the member's account before it asks).
pub trait BalanceProvider: Send + Sync {
    /// A short name for logs and the documentation (`ledger`).
    fn name(&self) -> &'static str;

    /// The member's balance and the amount held for their jobs, in minor units.
    fn balance<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        member: MemberId,
    ) -> BoxFuture<'a, AppResult<(i64, i64)>>;

    /// Records an entry.
    fn post<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        entry: NewLedgerEntry<'a>,
        now: domain::Timestamp,
    ) -> BoxFuture<'a, AppResult<LedgerEntry>>;

    /// Records a hold if the member's available balance after it (balance less held, the
    /// hold included) stays at or above `minimum` (`None`: whatever it leaves); `None`: it
    /// would not, and nothing was recorded. By default [`BalanceProvider::balance`], then
    /// [`BalanceProvider::post`]; a provider may do both at once.
    fn hold<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        entry: NewLedgerEntry<'a>,
        minimum: Option<i64>,
        now: domain::Timestamp,
    ) -> BoxFuture<'a, AppResult<Option<LedgerEntry>>> {
        Box::pin(async move {
            let (balance, held) = self.balance(conn, org, entry.member).await?;
            let after = balance
                .saturating_add(entry.amount_minor)
                .saturating_sub(held)
                .saturating_sub(entry.hold_minor);
            if minimum.is_some_and(|minimum| after < minimum) {
                return Ok(None);
            }
            Ok(Some(self.post(conn, org, entry, now).await?))
        })
    }
}

/// The internal ledger: the `ledger_entries` table, append-only (the database refuses updates
/// and deletes). The balance and held amount are read from the running amounts on the
/// member's account row, which the ledger's trigger moves with each entry in the entry's
/// transaction (so they are always its sums; a store contract test holds it to that); a hold
/// is checked and recorded in one statement.
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerProvider;

impl BalanceProvider for LedgerProvider {
    fn name(&self) -> &'static str {
        "ledger"
    }

    fn balance<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        member: MemberId,
    ) -> BoxFuture<'a, AppResult<(i64, i64)>> {
        Box::pin(async move { Ok(store::member_balance(conn, org, member).await?) })
    }

    fn post<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        entry: NewLedgerEntry<'a>,
        now: domain::Timestamp,
    ) -> BoxFuture<'a, AppResult<LedgerEntry>> {
        Box::pin(async move { Ok(store::append_ledger(conn, org, &entry, now).await?) })
    }

    fn hold<'a>(
        &'a self,
        conn: &'a mut store::Conn,
        org: OrgId,
        entry: NewLedgerEntry<'a>,
        minimum: Option<i64>,
        now: domain::Timestamp,
    ) -> BoxFuture<'a, AppResult<Option<LedgerEntry>>> {
        Box::pin(async move { Ok(store::append_hold(conn, org, &entry, minimum, now).await?) })
    }
}

/// The provider in use.
fn provider() -> &'static dyn BalanceProvider {
    &LedgerProvider
}

/// A member's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    pub balance_minor: i64,
    pub held_minor: i64,
    pub available_minor: i64,
}

impl Balance {
    fn of((balance, held): (i64, i64)) -> Balance {
        Balance {
            balance_minor: balance,
            held_minor: held,
            available_minor: balance.saturating_sub(held),
        }
    }
}

/// A page of a member's ledger, newest first.
#[derive(Debug, Clone)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntry>,
    pub next_cursor: Option<LedgerEntryId>,
}

/// A top-up, adjustment or refund.
#[derive(Debug, Clone)]
pub struct Movement {
    pub amount_minor: i64,
    pub reason: String,
    /// The job a refund is for.
    pub job_id: Option<JobId>,
}

/// The billing settings to change (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct UpdateBilling {
    pub hold_at: Option<HoldAt>,
    pub failed_print_charge: Option<FailedPrintCharge>,
    /// `Some(None)`: no floor.
    pub balance_floor_minor: Option<Option<i64>>,
}

/// The use cases of money.
#[derive(Clone, Copy)]
pub struct Billing<'a> {
    app: &'a App,
}

impl App {
    pub fn billing(&self) -> Billing<'_> {
        Billing { app: self }
    }
}

fn check_movement(movement: &Movement, may_be_negative: bool) -> AppResult<()> {
    let low = if may_be_negative {
        -MAX_AMOUNT_MINOR
    } else {
        1
    };
    if !(low..=MAX_AMOUNT_MINOR).contains(&movement.amount_minor)
        || (may_be_negative && movement.amount_minor == 0)
    {
        let rule = if may_be_negative {
            format!("must be -{MAX_AMOUNT_MINOR} to {MAX_AMOUNT_MINOR}, not 0")
        } else {
            format!("must be 1 to {MAX_AMOUNT_MINOR}")
        };
        return Err(Invalid::new("amount_minor", rule).into());
    }
    let length = movement.reason.chars().count();
    if movement.reason.trim().is_empty() || length > MAX_LEDGER_REASON_CHARS {
        return Err(Invalid::new(
            "reason",
            format!("must be 1 to {MAX_LEDGER_REASON_CHARS} characters"),
        )
        .into());
    }
    Ok(())
}

fn entry_json(entry: &LedgerEntry) -> serde_json::Value {
    json!({
        "kind": entry.kind.key(),
        "amount_minor": entry.amount_minor,
        "hold_minor": entry.hold_minor,
        "job_id": entry.job_id.map(JobId::get),
        "reason": entry.reason,
    })
}

impl Billing<'_> {
    fn may_read(&self, actor: &OrgActor, member: MemberId) -> AppResult<()> {
        if member == actor.member_id() {
            Ok(())
        } else {
            actor.require(Permission::BillingViewAll)
        }
    }

    /// A member's balance: theirs, or anyone's with `billing.view.all`.
    pub async fn balance(
        &self,
        actor: &OrgActor,
        member: MemberId,
    ) -> AppResult<(Balance, String)> {
        let mut conn = self.app.store().read().await?;
        let org = actor.org();
        store::get_member(&mut conn, org, member)
            .await
            .found("member")?;
        self.may_read(actor, member)?;
        let settings = store::get_org(&mut conn, org).await.found("organization")?;
        let balance = provider().balance(&mut conn, org, member).await?;
        Ok((Balance::of(balance), settings.currency))
    }

    /// A page of a member's ledger, newest first.
    pub async fn ledger(
        &self,
        actor: &OrgActor,
        member: MemberId,
        cursor: Option<LedgerEntryId>,
        limit: Option<u32>,
    ) -> AppResult<LedgerPage> {
        let limit = crate::paging::page_size(limit)?;
        let mut conn = self.app.store().read().await?;
        let org = actor.org();
        store::get_member(&mut conn, org, member)
            .await
            .found("member")?;
        self.may_read(actor, member)?;
        let mut entries = store::ledger_page(&mut conn, org, member, cursor, limit + 1).await?;
        let next_cursor = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(LedgerPage {
            entries,
            next_cursor,
        })
    }

    /// Adds money to a member's balance (`billing.manage`).
    pub async fn top_up(
        &self,
        actor: &OrgActor,
        member: MemberId,
        movement: Movement,
    ) -> AppResult<LedgerEntry> {
        check_movement(&movement, false)?;
        self.post(
            actor,
            member,
            LedgerKind::TopUp,
            Permission::BillingManage,
            movement,
        )
        .await
    }

    /// Corrects a member's balance up or down (`billing.manage`).
    pub async fn adjust(
        &self,
        actor: &OrgActor,
        member: MemberId,
        movement: Movement,
    ) -> AppResult<LedgerEntry> {
        check_movement(&movement, true)?;
        self.post(
            actor,
            member,
            LedgerKind::Adjustment,
            Permission::BillingManage,
            movement,
        )
        .await
    }

    /// Gives money back for a job of the member (`billing.refund`): at most what the job was
    /// charged less what was already refunded for it.
    pub async fn refund(
        &self,
        actor: &OrgActor,
        member: MemberId,
        movement: Movement,
    ) -> AppResult<LedgerEntry> {
        check_movement(&movement, false)?;
        if movement.job_id.is_none() {
            return Err(Invalid::new("job_id", "a refund is for a job").into());
        }
        self.post(
            actor,
            member,
            LedgerKind::Refund,
            Permission::BillingRefund,
            movement,
        )
        .await
    }

    async fn post(
        &self,
        actor: &OrgActor,
        member: MemberId,
        kind: LedgerKind,
        permission: Permission,
        movement: Movement,
    ) -> AppResult<LedgerEntry> {
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(permission)?;
        let (org, now) = (actor.org(), uow.now());
        store::get_member(uow.conn(), org, member)
            .await
            .found("member")?;
        uow.authorize(|a| {
            a.policy
                .may_manage_member_with(a.acting(), permission, member)
        })?;
        uow.lock_member_account(org, member).await?;
        if let Some(job) = movement.job_id {
            let found = store::get_job(uow.conn(), org, job).await.found("job")?;
            if found.owner_member_id != member {
                return Err(AppError::not_found("job"));
            }
            let (charged, refunded) = job_money(uow.conn(), org, job).await?;
            let left = charged.saturating_sub(refunded);
            if movement.amount_minor > left {
                return Err(Invalid::new(
                    "amount_minor",
                    format!("at most what is left to refund for job {job}: {left}"),
                )
                .into());
            }
        }
        let before = Balance::of(provider().balance(uow.conn(), org, member).await?);
        let entry = NewLedgerEntry {
            member,
            kind,
            amount_minor: movement.amount_minor,
            hold_minor: 0,
            job: movement.job_id,
            actor: Some(actor.member_id()),
            reason: &movement.reason,
        };
        let entry = provider().post(uow.conn(), org, entry, now).await?;
        uow.audit(
            Audit::of("balance.change", "member", member)
                .before(json!({ "balance_minor": before.balance_minor }))
                .after(json!({
                    "balance_minor": before.balance_minor.saturating_add(entry.amount_minor),
                    "entry": entry_json(&entry),
                })),
        );
        uow.commit().await?;
        Ok(entry)
    }

    /// The organization's prices.
    pub async fn prices(&self, actor: &OrgActor) -> AppResult<(Vec<Price>, String)> {
        let _ = actor;
        let mut conn = self.app.store().read().await?;
        let settings = store::get_org(&mut conn, actor.org())
            .await
            .found("organization")?;
        Ok((
            store::list_prices(&mut conn, actor.org()).await?,
            settings.currency,
        ))
    }

    /// Replaces the organization's prices (`billing.manage_prices`).
    pub async fn set_prices(&self, actor: &OrgActor, prices: Vec<Price>) -> AppResult<Vec<Price>> {
        check_prices(&prices)?;
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::BillingManagePrices)?;
        let org = actor.org();
        let models = store::list_printer_models(uow.conn(), org).await?;
        for (i, price) in prices.iter().enumerate() {
            if let Some(model) = price.printer_model_id
                && !models.iter().any(|m| m.id == model)
            {
                return Err(Invalid::new(
                    "prices",
                    format!("price {i}: there is no printer model {model}"),
                )
                .into());
            }
        }
        let before = store::list_prices(uow.conn(), org).await?;
        store::replace_prices(uow.conn(), org, &prices).await?;
        uow.audit(
            Audit::of("prices.set", "organization", org)
                .before(json!({ "prices": prices_json(&before) }))
                .after(json!({ "prices": prices_json(&prices) })),
        );
        uow.commit().await?;
        Ok(prices)
    }

    /// The organization's billing settings.
    pub async fn settings(&self, actor: &OrgActor) -> AppResult<BillingSettings> {
        let mut conn = self.app.store().read().await?;
        store::billing_settings(&mut conn, actor.org())
            .await
            .found("organization")
    }

    /// Changes the billing settings (`billing.manage_prices`).
    pub async fn update_settings(
        &self,
        actor: &OrgActor,
        change: UpdateBilling,
    ) -> AppResult<BillingSettings> {
        if let Some(Some(floor)) = change.balance_floor_minor
            && !(-MAX_AMOUNT_MINOR..=0).contains(&floor)
        {
            return Err(Invalid::new(
                "balance_floor_minor",
                format!("must be -{MAX_AMOUNT_MINOR} to 0 (or null for no floor)"),
            )
            .into());
        }
        let mut uow = self.app.begin(actor, Changes::Data).await?;
        uow.actor().require(Permission::BillingManagePrices)?;
        let org = actor.org();
        let before = store::billing_settings(uow.conn(), org)
            .await
            .found("organization")?;
        let after = BillingSettings {
            hold_at: change.hold_at.unwrap_or(before.hold_at),
            failed_print_charge: change
                .failed_print_charge
                .unwrap_or(before.failed_print_charge),
            balance_floor_minor: change
                .balance_floor_minor
                .unwrap_or(before.balance_floor_minor),
        };
        store::set_billing_settings(uow.conn(), org, &after).await?;
        let summary = |s: &BillingSettings| {
            json!({
                "hold_at": s.hold_at.key(),
                "failed_print_charge": s.failed_print_charge.key(),
                "balance_floor_minor": s.balance_floor_minor,
            })
        };
        uow.audit(
            Audit::of("organization.billing", "organization", org)
                .before(summary(&before))
                .after(summary(&after)),
        );
        uow.commit().await?;
        Ok(after)
    }
}

fn prices_json(prices: &[Price]) -> serde_json::Value {
    serde_json::Value::Array(
        prices
            .iter()
            .map(|p| {
                json!({
                    "printer_model_id": p.printer_model_id.map(|m| m.get()),
                    "material": p.material,
                    "per_gram_minor": p.per_gram_minor,
                    "per_hour_minor": p.per_hour_minor,
                    "flat_fee_minor": p.flat_fee_minor,
                })
            })
            .collect(),
    )
}

/// What a job was charged and refunded so far (both positive).
async fn job_money(conn: &mut store::Conn, org: OrgId, job: JobId) -> AppResult<(i64, i64)> {
    Ok(store::job_charged_and_refunded(conn, org, job).await?)
}

/// Checks the owner's available balance covers the job's estimate (see the module docs) and
/// holds it, in one step of the provider ([`BalanceProvider::hold`]); the balance is read
/// again only to explain a refusal. The owner's account is locked by the caller. `billing`:
/// the organization's billing settings when the caller has them (read here when needed).
pub(crate) async fn check_and_hold(
    uow: &mut UnitOfWork,
    settings: &Organization,
    policy: &Policy,
    job: &Job,
    needs: &JobNeeds,
    billing: Option<BillingSettings>,
) -> AppResult<()> {
    let estimate = needs.estimate.total_minor;
    if estimate <= 0 {
        return Ok(());
    }
    let (org, member, now) = (settings.id, job.owner_member_id, uow.now());
    let may_go_negative = policy.member_ix(member).is_some_and(|ix| {
        policy
            .rights(ix)
            .permissions
            .contains(Permission::BillingPrintOnInsufficientBalance)
    });
    // The lowest the available balance may go: zero, or for a member who may go below it,
    // the organization's floor if it has one.
    let minimum = if may_go_negative {
        let billing = match billing {
            Some(billing) => billing,
            None => store::billing_settings(uow.conn(), org)
                .await
                .found("organization")?,
        };
        billing.balance_floor_minor
    } else {
        Some(0)
    };
    let reason = format!("hold for job {}", job.id);
    let entry = NewLedgerEntry {
        member,
        kind: LedgerKind::Hold,
        amount_minor: 0,
        hold_minor: estimate,
        job: Some(job.id),
        actor: Some(uow.actor().member_id()),
        reason: &reason,
    };
    if provider()
        .hold(uow.conn(), org, entry, minimum, now)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let balance = Balance::of(provider().balance(uow.conn(), org, member).await?);
    let money = |minor| format_money(minor, &settings.currency);
    let said = format!(
        "Your balance is {} with {} held for your other jobs ({} available); this job's \
         estimate is {}",
        money(balance.balance_minor),
        money(balance.held_minor),
        money(balance.available_minor),
        money(estimate)
    );
    let message = match minimum {
        Some(floor) if may_go_negative => format!(
            "{said}; your balance may go below zero, but not below the organization's floor of \
             {}",
            money(floor)
        ),
        _ => format!("{said}; top up your balance or ask for it to be topped up"),
    };
    Err(AppError::conflict(ErrorCode::InsufficientBalance, message))
}

/// Holds a job's estimate when it is approved, for an organization that holds at approval
/// (see [`HoldAt`]): checked against its owner's available balance like a submission.
pub(crate) async fn hold_on_approval(uow: &mut UnitOfWork, job: &Job) -> AppResult<()> {
    let org = uow.actor().org();
    let Some(mut row) = store::get_job_usage(uow.conn(), org, job.id).await? else {
        return Ok(());
    };
    let billing = store::billing_settings(uow.conn(), org)
        .await
        .found("organization")?;
    if billing.hold_at != HoldAt::Approval || row.held_minor != 0 {
        return Ok(());
    }
    let estimate: Cost = serde_json::from_str(&row.estimate).map_err(AppError::internal)?;
    if estimate.total_minor <= 0 {
        return Ok(());
    }
    uow.lock_member_account(org, job.owner_member_id).await?;
    let settings = store::get_org(uow.conn(), org)
        .await
        .found("organization")?;
    let policy = uow.actor().policy.clone();
    let needs = JobNeeds {
        usage: row.usage,
        print_seconds: row.print_seconds,
        estimate: estimate.clone(),
    };
    check_and_hold(uow, &settings, &policy, job, &needs, Some(billing)).await?;
    row.held_minor = estimate.total_minor;
    store::update_job_usage(uow.conn(), org, &row).await?;
    Ok(())
}

/// Releases what is still held for a job.
pub(crate) async fn release<A>(
    uow: &mut UnitOfWork<A>,
    org: OrgId,
    job: &Job,
    held: i64,
    by: Option<MemberId>,
    why: &str,
) -> AppResult<()> {
    if held == 0 {
        return Ok(());
    }
    let now = uow.now();
    let reason = format!("release for job {}: {why}", job.id);
    let entry = NewLedgerEntry {
        member: job.owner_member_id,
        kind: LedgerKind::Release,
        amount_minor: 0,
        hold_minor: -held,
        job: Some(job.id),
        actor: by,
        reason: &reason,
    };
    provider().post(uow.conn(), org, entry, now).await?;
    Ok(())
}

/// Charges a job's final cost and releases its hold.
pub(crate) async fn charge<A>(
    uow: &mut UnitOfWork<A>,
    org: OrgId,
    job: &Job,
    cost: &Cost,
    held: i64,
    by: Option<MemberId>,
) -> AppResult<()> {
    let now = uow.now();
    if cost.total_minor > 0 {
        let reason = format!("job {} {}", job.id, job.state);
        let entry = NewLedgerEntry {
            member: job.owner_member_id,
            kind: LedgerKind::Charge,
            amount_minor: -cost.total_minor,
            hold_minor: 0,
            job: Some(job.id),
            actor: by,
            reason: &reason,
        };
        provider().post(uow.conn(), org, entry, now).await?;
    }
    release(uow, org, job, held, by, "it ended and was charged").await
}

/// A job's final cost, and how many copies' worth of material it counts (in hundredths).
pub(crate) struct FinalCost {
    pub cost: Cost,
    pub copies_equivalent_hundredths: i64,
}

/// What an ended job costs: on the printer it printed on, the copies completed, and the
/// failed (or cancelled) one per the organization's policy: in full, by its progress (time
/// printed over time estimated), or not at all.
pub(crate) async fn final_cost(
    conn: &mut store::Conn,
    org: OrgId,
    job: &Job,
    row: &JobUsage,
    ended: JobState,
    printed_s: i64,
) -> AppResult<FinalCost> {
    let prices = store::price_list(conn, org).await?;
    let facts = crate::quotas::load_facts(conn, org, job.file_id).await?;
    let model = match job.printer_id {
        Some(printer) => store::get_printer(conn, org, printer)
            .await?
            .and_then(|p| p.model_id),
        None => None,
    };
    let material = facts
        .as_ref()
        .and_then(|f| f.material())
        .map(str::to_string);
    let grams_per_copy = facts.as_ref().map_or(0.0, |f| {
        if f.weight_g().is_finite() {
            f.weight_g().max(0.0)
        } else {
            0.0
        }
    });
    let done = f64::from(job.copies_done.max(0));
    let per_print = row.print_seconds.max(0);
    let (copies, seconds) = if ended == JobState::Completed {
        let seconds = if printed_s > 0 {
            printed_s
        } else {
            per_print.saturating_mul(i64::from(job.copies_done))
        };
        (done, seconds)
    } else {
        let policy = store::billing_settings(conn, org)
            .await
            .found("organization")?
            .failed_print_charge;
        let done_s = per_print.saturating_mul(i64::from(job.copies_done));
        let failed_s = printed_s.saturating_sub(done_s).max(0);
        let progress = if per_print > 0 {
            (failed_s as f64 / per_print as f64).clamp(0.0, 1.0)
        } else {
            1.0
        };
        match policy {
            FailedPrintCharge::Full => (done + 1.0, done_s.saturating_add(per_print)),
            FailedPrintCharge::Progress => (done + progress, printed_s),
            FailedPrintCharge::Nothing => (done, done_s.min(printed_s.max(done_s))),
        }
    };
    if copies <= 0.0 {
        return Ok(FinalCost {
            cost: Cost::default(),
            copies_equivalent_hundredths: 0,
        });
    }
    let grams = (grams_per_copy * copies).ceil().min(1e12) as i64;
    let price = prices.price_for(model, material.as_deref());
    Ok(FinalCost {
        cost: Cost::of(price.as_ref(), material.as_deref(), grams, seconds),
        copies_equivalent_hundredths: (copies * 100.0).round() as i64,
    })
}
