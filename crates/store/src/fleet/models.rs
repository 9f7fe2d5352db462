//! Printer models: build volume, nozzle, materials, motion limits, hourly rate.

use domain::{OrgId, PrinterModel, PrinterModelId, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{int, json_column, json_text, real, text, ts};
use crate::{Conn, StoreError};

/// A printer model's fields as written.
pub struct NewPrinterModel<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub build_volume_mm: [f64; 3],
    pub nozzle_diameter_mm: f64,
    pub materials: &'a [String],
    pub motion: &'a serde_json::Value,
    pub hourly_rate_minor: i64,
}

pub async fn insert_printer_model(
    conn: &mut Conn,
    org: OrgId,
    model: &NewPrinterModel<'_>,
    now: Timestamp,
) -> Result<PrinterModelId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_models (org_id, name, description, build_x_mm, build_y_mm, build_z_mm, \
         nozzle_diameter_mm, materials, motion, hourly_rate_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(org.get())
    .bind(model.name.to_string())
    .bind(model.description.to_string())
    .bind(model.build_volume_mm[0])
    .bind(model.build_volume_mm[1])
    .bind(model.build_volume_mm[2])
    .bind(model.nozzle_diameter_mm)
    .bind(json_text(&model.materials)?)
    .bind(json_text(model.motion)?)
    .bind(model.hourly_rate_minor)
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(PrinterModelId(int(&row, "id")?))
}

pub async fn update_printer_model(
    conn: &mut Conn,
    org: OrgId,
    id: PrinterModelId,
    model: &NewPrinterModel<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE printer_models SET name = $1, description = $2, build_x_mm = $3, build_y_mm = $4, \
         build_z_mm = $5, nozzle_diameter_mm = $6, materials = $7, motion = $8, hourly_rate_minor = $9 \
         WHERE org_id = $10 AND id = $11",
    )
    .bind(model.name.to_string())
    .bind(model.description.to_string())
    .bind(model.build_volume_mm[0])
    .bind(model.build_volume_mm[1])
    .bind(model.build_volume_mm[2])
    .bind(model.nozzle_diameter_mm)
    .bind(json_text(&model.materials)?)
    .bind(json_text(model.motion)?)
    .bind(model.hourly_rate_minor)
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) const MODEL_COLUMNS: &str = "id, name, description, build_x_mm, build_y_mm, build_z_mm, \
    nozzle_diameter_mm, materials, motion, hourly_rate_minor, created_at";

pub(crate) fn model_from_row(row: &AnyRow) -> Result<PrinterModel, StoreError> {
    Ok(PrinterModel {
        id: PrinterModelId(int(row, "id")?),
        name: text(row, "name")?,
        description: text(row, "description")?,
        build_volume_mm: [
            real(row, "build_x_mm")?,
            real(row, "build_y_mm")?,
            real(row, "build_z_mm")?,
        ],
        nozzle_diameter_mm: real(row, "nozzle_diameter_mm")?,
        materials: json_column(row, "materials")?,
        motion: json_column(row, "motion")?,
        hourly_rate_minor: int(row, "hourly_rate_minor")?,
        created_at: ts(row, "created_at")?,
    })
}

pub async fn list_printer_models(
    conn: &mut Conn,
    org: OrgId,
) -> Result<Vec<PrinterModel>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MODEL_COLUMNS} FROM printer_models WHERE org_id = $1 ORDER BY name, id"
    )))
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
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {MODEL_COLUMNS} FROM printer_models WHERE org_id = $1 AND id = $2"
    )))
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
    crate::access::delete_grants_about(conn, org, "model", id.get()).await?;
    sqlx::query("DELETE FROM printer_models WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
