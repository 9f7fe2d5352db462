//! Printers: how each is reached, its persisted state and holds, its groups.

use domain::{
    DriverKind, OrgId, Printer, PrinterConnection, PrinterGroupId, PrinterId, PrinterModel,
    PrinterModelId, PrinterState, SiteId, Timestamp,
};
use sqlx::any::AnyRow;

use crate::fleet::models::{MODEL_COLUMNS, model_from_row};
use crate::fleet::prints::{PRINT_COLUMNS, print_from_row};
use crate::rows::{flag, int, json_column, json_text, like_pattern, opt_int, opt_text, text, ts};
use crate::{Conn, StoreError};

pub struct NewPrinter<'a> {
    pub name: &'a str,
    pub site: SiteId,
    pub model: Option<PrinterModelId>,
    pub groups: &'a [PrinterGroupId],
    pub driver: DriverKind,
    pub url: &'a str,
    pub settings: &'a serde_json::Value,
}

pub async fn insert_printer(
    conn: &mut Conn,
    org: OrgId,
    printer: &NewPrinter<'_>,
    now: Timestamp,
) -> Result<PrinterId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printers (org_id, site_id, model_id, name, driver, url, settings, state, \
         state_since, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'offline', $8, $8) RETURNING id",
    )
    .bind(org.get())
    .bind(printer.site.get())
    .bind(printer.model.map(PrinterModelId::get))
    .bind(printer.name.to_string())
    .bind(printer.driver.as_str())
    .bind(printer.url.to_string())
    .bind(json_text(printer.settings)?)
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    let id = PrinterId(int(&row, "id")?);
    set_printer_groups(conn, id, printer.groups).await?;
    Ok(id)
}

pub async fn update_printer(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
    printer: &NewPrinter<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        // Another driver or address may be another printer: its job record is read afresh.
        "UPDATE printers SET site_id = $1, model_id = $2, name = $3, driver = $4, url = $5, \
         settings = $6, job_cursor = CASE WHEN driver = $4 AND url = $5 THEN job_cursor END \
         WHERE org_id = $7 AND id = $8",
    )
    .bind(printer.site.get())
    .bind(printer.model.map(PrinterModelId::get))
    .bind(printer.name.to_string())
    .bind(printer.driver.as_str())
    .bind(printer.url.to_string())
    .bind(json_text(printer.settings)?)
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    set_printer_groups(conn, id, printer.groups).await
}

/// Stores (or clears) a printer's credential. `ciphertext` is already encrypted by the caller;
/// the store never sees a secret.
pub async fn set_printer_credential(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
    ciphertext: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE printers SET credential = $1 WHERE org_id = $2 AND id = $3")
        .bind(ciphertext.map(str::to_string))
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the dispatcher starts the jobs it matches to the printer by itself.
pub async fn set_printer_auto_start(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
    on: bool,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE printers SET auto_start = $1 WHERE org_id = $2 AND id = $3")
        .bind(on)
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets Farmhand's holds on a printer: maintenance, and a build plate waiting to be cleared.
pub async fn set_printer_holds(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
    maintenance: bool,
    bed_clear_pending: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE printers SET maintenance = $1, bed_clear_pending = $2 WHERE org_id = $3 AND id = $4",
    )
    .bind(maintenance)
    .bind(bed_clear_pending)
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How far Farmhand has read the printer's own job record: `None` never, `Some("")` read while
/// it was empty, else the printer's ID of the last job accounted for.
pub async fn printer_job_cursor(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT job_cursor FROM printers WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|r| opt_text(&r, "job_cursor"))
        .transpose()?
        .flatten())
}

/// Records how far Farmhand has read the printer's own job record (see [`printer_job_cursor`]).
pub async fn set_printer_job_cursor(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
    cursor: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE printers SET job_cursor = $1 WHERE org_id = $2 AND id = $3")
        .bind(cursor.to_string())
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The encrypted credential of a printer, if one is stored.
pub async fn printer_credential(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT credential FROM printers WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row
        .map(|r| opt_text(&r, "credential"))
        .transpose()?
        .flatten())
}

async fn set_printer_groups(
    conn: &mut Conn,
    id: PrinterId,
    groups: &[PrinterGroupId],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_group_members WHERE printer_id = $1")
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    for group in groups {
        sqlx::query("INSERT INTO printer_group_members (group_id, printer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(group.get())
            .bind(id.get())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn delete_printer(conn: &mut Conn, org: OrgId, id: PrinterId) -> Result<(), StoreError> {
    crate::access::delete_grants_about(conn, org, "printer", id.get()).await?;
    // History goes with the printer; the audit log keeps what happened.
    for table in ["printer_state_events", "prints"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE org_id = $1 AND printer_id = $2"
        )))
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("DELETE FROM printers WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn count_site_printers(
    conn: &mut Conn,
    org: OrgId,
    site: SiteId,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM printers WHERE org_id = $1 AND site_id = $2")
        .bind(org.get())
        .bind(site.get())
        .fetch_one(&mut *conn)
        .await?;
    int(&row, "n")
}

/// What the fleet supervisor needs to start every printer, read in three queries rather than a
/// few per printer.
#[derive(Debug, Default)]
pub struct FleetStart {
    /// Every printer of every organization (without groups), with its sealed credential.
    pub printers: Vec<(OrgId, Printer, Option<String>)>,
    /// Every printer model, by ID.
    pub models: std::collections::HashMap<PrinterModelId, PrinterModel>,
    /// Each printer's latest print still under way (printing, paused or unknown).
    pub active_prints: std::collections::HashMap<PrinterId, domain::Print>,
    /// How far each printer's job record was read (see [`printer_job_cursor`]); printers never
    /// read are missing.
    pub job_cursors: std::collections::HashMap<PrinterId, String>,
}

/// What supervising `printers` (all of them, or `None` for the whole fleet) needs, in a few
/// queries: an instance starting up, or taking over another's printers.
pub async fn fleet_start(
    conn: &mut Conn,
    printers: Option<&[PrinterId]>,
) -> Result<FleetStart, StoreError> {
    // IDs are integers, so the list is written into the statement rather than bound (the
    // number of parameters a statement may have is limited).
    let (only_printers, only_prints) = match printers {
        Some(ids) => {
            let list = ids
                .iter()
                .map(|id| id.get().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let list = if list.is_empty() {
                "NULL".to_string()
            } else {
                list
            };
            (
                format!("WHERE id IN ({list})"),
                format!("AND printer_id IN ({list})"),
            )
        }
        None => (String::new(), String::new()),
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT org_id, credential, job_cursor, {PRINTER_COLUMNS} FROM printers {only_printers} \
         ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut job_cursors = std::collections::HashMap::new();
    let printers = rows
        .iter()
        .map(|row| {
            let printer = printer_from_row(row)?;
            if let Some(cursor) = opt_text(row, "job_cursor")? {
                job_cursors.insert(printer.id, cursor);
            }
            Ok((
                OrgId(int(row, "org_id")?),
                printer,
                opt_text(row, "credential")?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MODEL_COLUMNS} FROM printer_models"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let models = rows
        .iter()
        .map(|row| model_from_row(row).map(|model| (model.id, model)))
        .collect::<Result<_, StoreError>>()?;
    // In ID order, so a later print of the same printer replaces an earlier one.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINT_COLUMNS} FROM prints WHERE state IN ('printing', 'paused', 'unknown') \
         {only_prints} ORDER BY id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    let mut active_prints = std::collections::HashMap::new();
    for row in &rows {
        let print = print_from_row(row)?;
        active_prints.insert(print.printer_id, print);
    }
    Ok(FleetStart {
        printers,
        models,
        active_prints,
        job_cursors,
    })
}

/// All printers of the organization with their groups, in ID order.
pub async fn list_printers(conn: &mut Conn, org: OrgId) -> Result<Vec<Printer>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINTER_COLUMNS} FROM printers WHERE org_id = $1 ORDER BY id"
    )))
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    let mut printers = rows
        .iter()
        .map(printer_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let memberships = sqlx::query(
        "SELECT gm.printer_id, gm.group_id FROM printer_group_members gm JOIN printers p ON p.id = gm.printer_id \
         WHERE p.org_id = $1 ORDER BY gm.group_id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    attach_groups(&mut printers, &memberships)?;
    Ok(printers)
}

/// Which printers of an organization a page holds.
#[derive(Debug, Clone, Default)]
pub struct PrinterFilter {
    pub site: Option<SiteId>,
    pub group: Option<PrinterGroupId>,
    /// Case-insensitive part of the name (ASCII case).
    pub name_contains: Option<String>,
}

/// Up to `limit` printers of the organization with their groups, in ID order, after the ID
/// `after` when given: one step of a keyset-paginated list.
pub async fn list_printers_after(
    conn: &mut Conn,
    org: OrgId,
    filter: &PrinterFilter,
    after: Option<PrinterId>,
    limit: u32,
) -> Result<Vec<Printer>, StoreError> {
    let mut conditions = vec!["org_id = $1".to_owned(), "id > $2".to_owned()];
    let mut next = 3;
    if filter.site.is_some() {
        conditions.push(format!("site_id = ${next}"));
        next += 1;
    }
    if filter.group.is_some() {
        conditions.push(format!(
            "id IN (SELECT printer_id FROM printer_group_members WHERE group_id = ${next})"
        ));
        next += 1;
    }
    if filter.name_contains.is_some() {
        conditions.push(format!("LOWER(name) LIKE ${next} ESCAPE '\\'"));
        next += 1;
    }
    let sql = format!(
        "SELECT {PRINTER_COLUMNS} FROM printers WHERE {} ORDER BY id LIMIT ${next}",
        conditions.join(" AND ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(after.map_or(0, PrinterId::get));
    if let Some(site) = filter.site {
        query = query.bind(site.get());
    }
    if let Some(group) = filter.group {
        query = query.bind(group.get());
    }
    if let Some(text) = &filter.name_contains {
        query = query.bind(like_pattern(text));
    }
    let rows = query.bind(i64::from(limit)).fetch_all(&mut *conn).await?;
    let mut printers = rows
        .iter()
        .map(printer_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(first), Some(last)) = (printers.first(), printers.last()) else {
        return Ok(printers);
    };
    // The groups of the printers in this ID range (a page is small; the range holds it).
    let memberships = sqlx::query(
        "SELECT gm.printer_id, gm.group_id FROM printer_group_members gm JOIN printers p ON p.id = gm.printer_id \
         WHERE p.org_id = $1 AND gm.printer_id BETWEEN $2 AND $3 ORDER BY gm.group_id",
    )
    .bind(org.get())
    .bind(first.id.get())
    .bind(last.id.get())
    .fetch_all(&mut *conn)
    .await?;
    attach_groups(&mut printers, &memberships)?;
    Ok(printers)
}

/// Adds each membership row's group to its printer (rows for other printers are ignored).
fn attach_groups(printers: &mut [Printer], memberships: &[AnyRow]) -> Result<(), StoreError> {
    let index: std::collections::HashMap<PrinterId, usize> = printers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    for row in memberships {
        if let Some(i) = index.get(&PrinterId(int(row, "printer_id")?)) {
            printers[*i]
                .group_ids
                .push(PrinterGroupId(int(row, "group_id")?));
        }
    }
    Ok(())
}

pub async fn get_printer(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
) -> Result<Option<Printer>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PRINTER_COLUMNS} FROM printers WHERE org_id = $1 AND id = $2"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(mut printer) = row.as_ref().map(printer_from_row).transpose()? else {
        return Ok(None);
    };
    let groups = sqlx::query(
        "SELECT group_id FROM printer_group_members WHERE printer_id = $1 ORDER BY group_id",
    )
    .bind(id.get())
    .fetch_all(&mut *conn)
    .await?;
    printer.group_ids = groups
        .iter()
        .map(|r| Ok(PrinterGroupId(int(r, "group_id")?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(printer))
}

const PRINTER_COLUMNS: &str = "id, name, site_id, model_id, driver, url, \
    (credential IS NOT NULL) AS has_credential, settings, state, \
    state_detail, state_since, maintenance, bed_clear_pending, auto_start, created_at";

fn printer_from_row(row: &AnyRow) -> Result<Printer, StoreError> {
    let driver = text(row, "driver")?;
    let state = text(row, "state")?;
    Ok(Printer {
        id: PrinterId(int(row, "id")?),
        name: text(row, "name")?,
        site_id: SiteId(int(row, "site_id")?),
        model_id: opt_int(row, "model_id")?.map(PrinterModelId),
        group_ids: Vec::new(),
        connection: PrinterConnection {
            driver: DriverKind::parse(&driver)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown printer driver {driver:?}")))?,
            url: text(row, "url")?,
            has_credential: flag(row, "has_credential")?,
            settings: json_column(row, "settings")?,
        },
        state: PrinterState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown printer state {state:?}")))?,
        state_detail: text(row, "state_detail")?,
        state_since: ts(row, "state_since")?,
        maintenance: flag(row, "maintenance")?,
        bed_clear_pending: flag(row, "bed_clear_pending")?,
        auto_start: flag(row, "auto_start")?,
        created_at: ts(row, "created_at")?,
    })
}

/// The organization's printers whose jobs wait to be started by hand (`auto_start` off).
pub async fn printers_started_by_hand(
    conn: &mut Conn,
    org: OrgId,
) -> Result<std::collections::HashSet<PrinterId>, StoreError> {
    let rows = sqlx::query("SELECT id FROM printers WHERE org_id = $1 AND auto_start = FALSE")
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| Ok(PrinterId(int(row, "id")?)))
        .collect()
}
