//! Printers, printer models and printer groups: what access is granted over.

use domain::{
    OrgId, Printer, PrinterGroup, PrinterGroupId, PrinterId, PrinterModel, PrinterModelId, SiteId,
    Timestamp,
};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, text, ts};
use crate::{Conn, StoreError};

// ---- models ----

pub async fn insert_printer_model(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    now: Timestamp,
) -> Result<PrinterModelId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_models (org_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrinterModelId(int(&row, "id")?))
}

fn model_from_row(row: &AnyRow) -> Result<PrinterModel, StoreError> {
    Ok(PrinterModel {
        id: PrinterModelId(int(row, "id")?),
        name: text(row, "name")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn list_printer_models(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<PrinterModel>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at FROM printer_models WHERE org_id = $1 ORDER BY name, id",
    )
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(model_from_row).collect()
}

pub async fn get_printer_model(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterModelId,
) -> Result<Option<PrinterModel>, StoreError> {
    let row = sqlx::query(
        "SELECT id, name, created_at FROM printer_models WHERE org_id = $1 AND id = $2",
    )
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(model_from_row).transpose()
}

pub async fn delete_printer_model(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterModelId,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE printers SET model_id = NULL WHERE org_id = $1 AND model_id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    crate::delete_grants_about(conn, org, "model", id.get()).await?;
    sqlx::query("DELETE FROM printer_models WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---- groups ----

pub async fn insert_printer_group(
    conn: &mut Conn,
    org: OrgId,
    name: &str,
    description: &str,
    now: Timestamp,
) -> Result<PrinterGroupId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_groups (org_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(org.get())
    .bind(name.to_string())
    .bind(description.to_string())
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrinterGroupId(int(&row, "id")?))
}

fn group_from_row(row: &AnyRow) -> Result<PrinterGroup, StoreError> {
    Ok(PrinterGroup {
        id: PrinterGroupId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn list_printer_groups(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<PrinterGroup>, StoreError> {
    let rows = sqlx::query("SELECT id, name, description, created_at FROM printer_groups WHERE org_id = $1 ORDER BY name, id")
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(group_from_row).collect()
}

pub async fn get_printer_group(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterGroupId,
) -> Result<Option<PrinterGroup>, StoreError> {
    let row = sqlx::query("SELECT id, name, description, created_at FROM printer_groups WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn delete_printer_group(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterGroupId,
) -> Result<(), StoreError> {
    crate::delete_grants_about(conn, org, "group", id.get()).await?;
    sqlx::query("DELETE FROM printer_groups WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---- printers ----

pub struct NewPrinter<'a> {
    pub name: &'a str,
    pub site: SiteId,
    pub model: Option<PrinterModelId>,
    pub groups: &'a [PrinterGroupId],
}

pub async fn insert_printer(
    conn: &mut Conn,
    org: OrgId,
    printer: &NewPrinter<'_>,
    now: Timestamp,
) -> Result<PrinterId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printers (org_id, site_id, model_id, name, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org.get())
    .bind(printer.site.get())
    .bind(printer.model.map(PrinterModelId::get))
    .bind(printer.name.to_string())
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
        "UPDATE printers SET site_id = $1, model_id = $2, name = $3 WHERE org_id = $4 AND id = $5",
    )
    .bind(printer.site.get())
    .bind(printer.model.map(PrinterModelId::get))
    .bind(printer.name.to_string())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    set_printer_groups(conn, id, printer.groups).await
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
    crate::delete_grants_about(conn, org, "printer", id.get()).await?;
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

/// All printers of the organization with their groups, in ID order.
pub async fn list_printers(conn: &mut Conn, org: OrgId) -> Result<Vec<Printer>, StoreError> {
    let rows = sqlx::query("SELECT id, name, site_id, model_id, created_at FROM printers WHERE org_id = $1 ORDER BY id")
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
    let index: std::collections::HashMap<PrinterId, usize> = printers
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    for row in &memberships {
        if let Some(i) = index.get(&PrinterId(int(row, "printer_id")?)) {
            printers[*i]
                .group_ids
                .push(PrinterGroupId(int(row, "group_id")?));
        }
    }
    Ok(printers)
}

pub async fn get_printer(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterId,
) -> Result<Option<Printer>, StoreError> {
    let row = sqlx::query("SELECT id, name, site_id, model_id, created_at FROM printers WHERE org_id = $1 AND id = $2")
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

fn printer_from_row(row: &AnyRow) -> Result<Printer, StoreError> {
    Ok(Printer {
        id: PrinterId(int(row, "id")?),
        name: text(row, "name")?,
        site_id: SiteId(int(row, "site_id")?),
        model_id: opt_int(row, "model_id")?.map(PrinterModelId),
        group_ids: Vec::new(),
        created_at: ts(row, "created_at")?,
    })
}
