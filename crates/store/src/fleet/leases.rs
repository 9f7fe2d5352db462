//! Instances and printer leases: which Farmhand instance supervises which printer.
//!
//! A lease is taken only when it is free (no row, or expired), by one statement per lease, so
//! two instances taking at once never both get it: on PostgreSQL the losing `UPDATE` waits for
//! the winner's row lock and then finds the lease no longer expired; on SQLite writers take
//! turns.

use domain::{PrinterId, Timestamp};

use crate::rows::{int, text};
use crate::{Conn, StoreError};

/// Records an instance (or renews its heartbeat) with the address the others reach it at.
pub async fn register_instance(
    conn: &mut Conn,
    id: &str,
    address: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO instances (id, address, started_at, heartbeat_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, heartbeat_at = excluded.heartbeat_at",
    )
    .bind(id)
    .bind(address)
    .bind(now.micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets an instance that stops, with its leases, so the others take its printers at once.
/// Instances whose heartbeat stopped before `forgotten_before` are forgotten too.
pub async fn remove_instance(
    conn: &mut Conn,
    id: &str,
    forgotten_before: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_leases WHERE instance_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM instances WHERE id = $1 OR heartbeat_at < $2")
        .bind(id)
        .bind(forgotten_before.micros())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many instances have a heartbeat after `alive_after`.
pub async fn count_live_instances(
    conn: &mut Conn,
    alive_after: Timestamp,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM instances WHERE heartbeat_at > $1")
        .bind(alive_after.micros())
        .fetch_one(&mut *conn)
        .await?;
    int(&row, "n")
}

pub async fn count_printers(conn: &mut Conn) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM printers")
        .fetch_one(&mut *conn)
        .await?;
    int(&row, "n")
}

/// Renews every lease `instance` holds until `expires_at` and answers the printers they are
/// for: a lease another instance took meanwhile (this one was too slow to renew) is not among
/// them.
pub async fn renew_leases(
    conn: &mut Conn,
    instance: &str,
    expires_at: Timestamp,
) -> Result<Vec<PrinterId>, StoreError> {
    let rows = sqlx::query(
        "UPDATE printer_leases SET expires_at = $2 WHERE instance_id = $1 RETURNING printer_id",
    )
    .bind(instance)
    .bind(expires_at.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| int(row, "printer_id").map(PrinterId))
        .collect()
}

/// Takes up to `limit` free leases for `instance` (printers without one first, then expired
/// ones), lowest printer IDs first, and answers the printers taken.
pub async fn take_free_leases(
    conn: &mut Conn,
    instance: &str,
    now: Timestamp,
    expires_at: Timestamp,
    limit: i64,
) -> Result<Vec<PrinterId>, StoreError> {
    let mut taken = Vec::new();
    if limit <= 0 {
        return Ok(taken);
    }
    let rows = sqlx::query(
        "INSERT INTO printer_leases (printer_id, instance_id, expires_at) \
         SELECT p.id, $1, $2 FROM printers p \
         WHERE NOT EXISTS (SELECT 1 FROM printer_leases l WHERE l.printer_id = p.id) \
         ORDER BY p.id LIMIT $3 \
         ON CONFLICT (printer_id) DO NOTHING RETURNING printer_id",
    )
    .bind(instance)
    .bind(expires_at.micros())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        taken.push(PrinterId(int(row, "printer_id")?));
    }
    let left = limit - taken.len() as i64;
    if left > 0 {
        let rows = sqlx::query(
            "UPDATE printer_leases SET instance_id = $1, expires_at = $2 \
             WHERE expires_at <= $3 AND printer_id IN \
             (SELECT printer_id FROM printer_leases WHERE expires_at <= $3 \
              ORDER BY printer_id LIMIT $4) \
             RETURNING printer_id",
        )
        .bind(instance)
        .bind(expires_at.micros())
        .bind(now.micros())
        .bind(left)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            taken.push(PrinterId(int(row, "printer_id")?));
        }
    }
    Ok(taken)
}

/// Takes the lease of one printer for `instance` if it is free or already its own; answers
/// whether `instance` holds it now.
pub async fn take_lease(
    conn: &mut Conn,
    printer: PrinterId,
    instance: &str,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "INSERT INTO printer_leases (printer_id, instance_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (printer_id) DO UPDATE SET instance_id = excluded.instance_id, \
         expires_at = excluded.expires_at \
         WHERE printer_leases.instance_id = excluded.instance_id OR printer_leases.expires_at <= $4 \
         RETURNING printer_id",
    )
    .bind(printer.get())
    .bind(instance)
    .bind(expires_at.micros())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Takes every printer's lease for `instance`, whoever held it: for a database that only one
/// instance may use (SQLite), where leases left by an earlier run of the server would
/// otherwise keep its printers waiting until they expire.
pub async fn take_all_leases(
    conn: &mut Conn,
    instance: &str,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM printer_leases")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO printer_leases (printer_id, instance_id, expires_at) \
         SELECT id, $1, $2 FROM printers",
    )
    .bind(instance)
    .bind(expires_at.micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives up `instance`'s leases of `printers`, so that another instance takes them.
pub async fn release_leases(
    conn: &mut Conn,
    instance: &str,
    printers: &[PrinterId],
) -> Result<(), StoreError> {
    for printer in printers {
        sqlx::query("DELETE FROM printer_leases WHERE printer_id = $1 AND instance_id = $2")
            .bind(printer.get())
            .bind(instance)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The instance holding the printer's unexpired lease and its address, if any.
pub async fn lease_holder(
    conn: &mut Conn,
    printer: PrinterId,
    now: Timestamp,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "SELECT l.instance_id, i.address FROM printer_leases l \
         JOIN instances i ON i.id = l.instance_id \
         WHERE l.printer_id = $1 AND l.expires_at > $2",
    )
    .bind(printer.get())
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| Ok((text(&row, "instance_id")?, text(&row, "address")?)))
        .transpose()
}

/// Whether `instance` holds the printer's lease (an expired one nobody took over yet still
/// counts), keeping it so until `tx` ends: on PostgreSQL the row stays locked, so an instance
/// taking the lease over waits, then finds what `tx` recorded. Checked before a print is
/// recorded, so a printer is never started by two instances.
pub async fn lease_is_held(
    tx: &mut crate::WriteTx,
    printer: PrinterId,
    instance: &str,
) -> Result<bool, StoreError> {
    let lock = match tx.backend() {
        crate::Backend::Postgres => " FOR UPDATE",
        crate::Backend::Sqlite => "",
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT printer_id FROM printer_leases WHERE printer_id = $1 AND instance_id = $2{lock}"
    )))
    .bind(printer.get())
    .bind(instance)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}
