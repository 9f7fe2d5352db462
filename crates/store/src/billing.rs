//! Money: the organization's billing settings, its prices, and each member's append-only
//! ledger (the balance is the sum of `amount_minor`, the held amount the sum of `hold_minor`;
//! both are also kept as running amounts on the member's account row, moved by a trigger in
//! the transaction of each entry, so reading them costs one row, not the whole ledger).

use domain::money::{FailedPrintCharge, HoldAt, LedgerKind, Price, PriceList};
use domain::{JobId, LedgerEntryId, MemberId, OrgId, PrinterModelId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, opt_text, text, ts};
use crate::{Conn, StoreError};

/// How an organization bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingSettings {
    pub hold_at: HoldAt,
    pub failed_print_charge: FailedPrintCharge,
    /// How low a member with `billing.print_on_insufficient_balance` may take their available
    /// balance (zero or negative); `None`: no floor.
    pub balance_floor_minor: Option<i64>,
}

pub async fn billing_settings(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Option<BillingSettings>, StoreError> {
    let row = sqlx::query(
        "SELECT hold_at, failed_print_charge, balance_floor_minor FROM organizations WHERE id = $1",
    )
    .bind(org.get())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let charge = text(&row, "failed_print_charge")?;
    let hold_at = text(&row, "hold_at")?;
    Ok(Some(BillingSettings {
        hold_at: HoldAt::parse(&hold_at)
            .ok_or_else(|| StoreError::Corrupt(format!("hold_at {hold_at:?}")))?,
        failed_print_charge: FailedPrintCharge::parse(&charge)
            .ok_or_else(|| StoreError::Corrupt(format!("failed_print_charge {charge:?}")))?,
        balance_floor_minor: opt_int(&row, "balance_floor_minor")?,
    }))
}

pub async fn set_billing_settings(
    conn: &mut Conn,
    org: OrgId,
    settings: &BillingSettings,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE organizations SET failed_print_charge = $1, balance_floor_minor = $2, \
         hold_at = $3 WHERE id = $4",
    )
    .bind(settings.failed_print_charge.key())
    .bind(settings.balance_floor_minor)
    .bind(settings.hold_at.key())
    .bind(org.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// ---- prices ----

pub async fn list_prices(conn: &mut Conn, org: OrgId) -> Result<Vec<Price>, StoreError> {
    let rows = sqlx::query(
        "SELECT printer_model_id, material, per_gram_minor, per_hour_minor, flat_fee_minor \
         FROM prices WHERE org_id = $1 ORDER BY id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Price {
                printer_model_id: opt_int(row, "printer_model_id")?.map(PrinterModelId),
                material: opt_text(row, "material")?,
                per_gram_minor: int(row, "per_gram_minor")?,
                per_hour_minor: int(row, "per_hour_minor")?,
                flat_fee_minor: int(row, "flat_fee_minor")?,
            })
        })
        .collect()
}

/// The organization's prices and its printer models' hourly rates (those above zero), in one
/// statement.
pub async fn price_list(conn: &mut Conn, org: OrgId) -> Result<PriceList, StoreError> {
    let rows = sqlx::query(
        "SELECT CAST(0 AS BIGINT) AS source, id, printer_model_id, material, per_gram_minor, per_hour_minor, \
         flat_fee_minor FROM prices WHERE org_id = $1 \
         UNION ALL SELECT CAST(1 AS BIGINT) AS source, id, id AS printer_model_id, NULL AS material, \
         0 AS per_gram_minor, hourly_rate_minor AS per_hour_minor, 0 AS flat_fee_minor \
         FROM printer_models WHERE org_id = $1 AND hourly_rate_minor > 0 \
         ORDER BY 1, 2",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    let mut list = PriceList::default();
    for row in &rows {
        if int(row, "source")? == 0 {
            list.prices.push(Price {
                printer_model_id: opt_int(row, "printer_model_id")?.map(PrinterModelId),
                material: opt_text(row, "material")?,
                per_gram_minor: int(row, "per_gram_minor")?,
                per_hour_minor: int(row, "per_hour_minor")?,
                flat_fee_minor: int(row, "flat_fee_minor")?,
            });
        } else {
            list.model_rates.push((
                PrinterModelId(int(row, "printer_model_id")?),
                int(row, "per_hour_minor")?,
            ));
        }
    }
    Ok(list)
}

pub async fn replace_prices(
    conn: &mut Conn,
    org: OrgId,
    prices: &[Price],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM prices WHERE org_id = $1")
        .bind(org.get())
        .execute(&mut *conn)
        .await?;
    for price in prices {
        sqlx::query(
            "INSERT INTO prices (org_id, printer_model_id, material, per_gram_minor, \
             per_hour_minor, flat_fee_minor) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org.get())
        .bind(price.printer_model_id.map(PrinterModelId::get))
        .bind(price.material.clone())
        .bind(price.per_gram_minor)
        .bind(price.per_hour_minor)
        .bind(price.flat_fee_minor)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// ---- the ledger ----

/// One entry of a member's ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub member_id: MemberId,
    pub kind: LedgerKind,
    /// What it moves the balance by.
    pub amount_minor: i64,
    /// What it moves the held amount by.
    pub hold_minor: i64,
    pub job_id: Option<JobId>,
    /// Who made it; `None`: Farmhand itself.
    pub actor_member_id: Option<MemberId>,
    pub reason: String,
    pub created_at: Timestamp,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct NewLedgerEntry<'a> {
    pub member: MemberId,
    pub kind: LedgerKind,
    pub amount_minor: i64,
    pub hold_minor: i64,
    pub job: Option<JobId>,
    pub actor: Option<MemberId>,
    pub reason: &'a str,
}

const LEDGER_COLUMNS: &str =
    "id, member_id, kind, amount_minor, hold_minor, job_id, actor_member_id, reason, created_at";

fn entry_from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    let kind = text(row, "kind")?;
    Ok(LedgerEntry {
        id: LedgerEntryId(int(row, "id")?),
        member_id: MemberId(int(row, "member_id")?),
        kind: LedgerKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("ledger kind {kind:?}")))?,
        amount_minor: int(row, "amount_minor")?,
        hold_minor: int(row, "hold_minor")?,
        job_id: opt_int(row, "job_id")?.map(JobId),
        actor_member_id: opt_int(row, "actor_member_id")?.map(MemberId),
        reason: text(row, "reason")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn append_ledger(
    conn: &mut Conn,
    org: OrgId,
    entry: &NewLedgerEntry<'_>,
    now: Timestamp,
) -> Result<LedgerEntry, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ledger_entries (org_id, member_id, kind, amount_minor, hold_minor, job_id, \
         actor_member_id, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         RETURNING {LEDGER_COLUMNS}"
    )))
    .bind(org.get())
    .bind(entry.member.get())
    .bind(entry.kind.key())
    .bind(entry.amount_minor)
    .bind(entry.hold_minor)
    .bind(entry.job.map(JobId::get))
    .bind(entry.actor.map(MemberId::get))
    .bind(entry.reason.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    entry_from_row(&row)
}

/// Appends a hold when the member's available balance (balance less held) after it stays at
/// or above `minimum` (`None`: whatever it leaves), checked and posted in one statement
/// against the running amounts on the member's account row; `None`: it would not, nothing
/// was posted. The caller holds the member's account lock.
pub async fn append_hold(
    conn: &mut Conn,
    org: OrgId,
    entry: &NewLedgerEntry<'_>,
    minimum: Option<i64>,
    now: Timestamp,
) -> Result<Option<LedgerEntry>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO ledger_entries (org_id, member_id, kind, amount_minor, hold_minor, job_id, \
         actor_member_id, reason, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM memberships \
         WHERE org_id = $1 AND id = $2 \
         AND ($10 IS NULL OR balance_minor + $4 - held_minor - $5 >= $10) \
         RETURNING {LEDGER_COLUMNS}"
    )))
    .bind(org.get())
    .bind(entry.member.get())
    .bind(entry.kind.key())
    .bind(entry.amount_minor)
    .bind(entry.hold_minor)
    .bind(entry.job.map(JobId::get))
    .bind(entry.actor.map(MemberId::get))
    .bind(entry.reason.to_string())
    .bind(now.micros())
    .bind(minimum)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// A member's balance and held amount, as kept on their account row beside the ledger (always
/// the sums of their ledger, [`ledger_sums`]: the ledger's trigger moves them with each
/// entry).
pub async fn member_balance(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT balance_minor, held_minor FROM memberships WHERE org_id = $1 AND id = $2",
    )
    .bind(org.get())
    .bind(member.get())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok((int(&row, "balance_minor")?, int(&row, "held_minor")?)),
        None => Ok((0, 0)),
    }
}

/// The sums of a member's ledger: the balance (`amount_minor`) and the held amount
/// (`hold_minor`), over every entry.
pub async fn ledger_sums(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS balance, \
         CAST(COALESCE(SUM(hold_minor), 0) AS BIGINT) AS held \
         FROM ledger_entries WHERE org_id = $1 AND member_id = $2",
    )
    .bind(org.get())
    .bind(member.get())
    .fetch_one(&mut *conn)
    .await?;
    Ok((int(&row, "balance")?, int(&row, "held")?))
}

/// A page of a member's ledger, newest first, before the entry `before` when given.
pub async fn ledger_page(
    conn: &mut Conn,
    org: OrgId,
    member: MemberId,
    before: Option<LedgerEntryId>,
    limit: u32,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {LEDGER_COLUMNS} FROM ledger_entries WHERE org_id = $1 AND member_id = $2 \
         AND id < $3 ORDER BY id DESC LIMIT $4"
    )))
    .bind(org.get())
    .bind(member.get())
    .bind(before.map_or(i64::MAX, LedgerEntryId::get))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// What a job was charged and what was refunded for it, both as positive amounts.
pub async fn job_charged_and_refunded(
    conn: &mut Conn,
    org: OrgId,
    job: JobId,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'charge' THEN -amount_minor ELSE 0 END), 0) \
         AS BIGINT) AS charged, \
         CAST(COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount_minor ELSE 0 END), 0) \
         AS BIGINT) AS refunded \
         FROM ledger_entries WHERE org_id = $1 AND job_id = $2",
    )
    .bind(org.get())
    .bind(job.get())
    .fetch_one(&mut *conn)
    .await?;
    Ok((int(&row, "charged")?, int(&row, "refunded")?))
}
