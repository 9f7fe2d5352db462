//! Slices (models being turned into G-code by the slicing pool) and the organization's slicing
//! profiles.

use std::collections::BTreeMap;

use domain::{
    FileId, MemberId, OrgId, Placement, PrinterModelId, RankId, Slice, SliceId, SliceState,
    SlicerLock, SlicerProfile, SlicerProfileId, Timestamp,
};
use sqlx::any::AnyRow;

use crate::rows::{int, json_column, json_text, opt_int, opt_text, opt_ts, text, ts};
use crate::{Conn, StoreError, WriteTx};

/// A slice to record, queued.
#[derive(Debug, Clone)]
pub struct NewSlice<'a> {
    pub owner: MemberId,
    pub model_file_id: FileId,
    pub model_name: &'a str,
    pub model_sha256: &'a str,
    pub model_kind: &'a str,
    pub printer_model_id: PrinterModelId,
    pub profile_id: Option<SlicerProfileId>,
    pub settings: &'a BTreeMap<String, String>,
    pub requested: &'a BTreeMap<String, String>,
    pub placement: &'a Placement,
}

const SLICE_COLUMNS: &str = "id, org_id, owner_member_id, model_file_id, model_name, model_sha256, \
     model_kind, printer_model_id, profile_id, settings, requested, placement, state, progress, \
     message, gcode_file_id, created_at, started_at, finished_at";

fn slice_from_row(row: &AnyRow) -> Result<Slice, StoreError> {
    let state = text(row, "state")?;
    let progress = int(row, "progress")?.clamp(0, 100);
    Ok(Slice {
        id: SliceId(int(row, "id")?),
        org_id: OrgId(int(row, "org_id")?),
        owner_member_id: MemberId(int(row, "owner_member_id")?),
        model_file_id: FileId(int(row, "model_file_id")?),
        model_name: text(row, "model_name")?,
        model_sha256: text(row, "model_sha256")?,
        model_kind: text(row, "model_kind")?,
        printer_model_id: PrinterModelId(int(row, "printer_model_id")?),
        profile_id: opt_int(row, "profile_id")?.map(SlicerProfileId),
        settings: json_column(row, "settings")?,
        requested: json_column(row, "requested")?,
        placement: json_column(row, "placement")?,
        state: SliceState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("slice state {state:?}")))?,
        // Clamped to 0..=100 above.
        progress: u8::try_from(progress).unwrap_or(0),
        message: opt_text(row, "message")?,
        gcode_file_id: opt_int(row, "gcode_file_id")?.map(FileId),
        created_at: ts(row, "created_at")?,
        started_at: opt_ts(row, "started_at")?,
        finished_at: opt_ts(row, "finished_at")?,
    })
}

pub async fn insert_slice(
    conn: &mut Conn,
    org: OrgId,
    slice: &NewSlice<'_>,
    now: Timestamp,
) -> Result<SliceId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO slices (org_id, owner_member_id, model_file_id, model_name, model_sha256, \
         model_kind, printer_model_id, profile_id, settings, requested, placement, state, \
         progress, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $12) RETURNING id",
    )
    .bind(org.get())
    .bind(slice.owner.get())
    .bind(slice.model_file_id.get())
    .bind(slice.model_name.to_string())
    .bind(slice.model_sha256.to_string())
    .bind(slice.model_kind.to_string())
    .bind(slice.printer_model_id.get())
    .bind(slice.profile_id.map(SlicerProfileId::get))
    .bind(json_text(slice.settings)?)
    .bind(json_text(slice.requested)?)
    .bind(json_text(slice.placement)?)
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(SliceId(int(&row, "id")?))
}

pub async fn get_slice(
    conn: &mut Conn,
    org: OrgId,
    id: SliceId,
) -> Result<Option<Slice>, StoreError> {
    let sql = format!("SELECT {SLICE_COLUMNS} FROM slices WHERE org_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(slice_from_row).transpose()
}

/// A slice by its ID alone (the pool works across organizations).
pub async fn get_slice_any_org(conn: &mut Conn, id: SliceId) -> Result<Option<Slice>, StoreError> {
    let sql = format!("SELECT {SLICE_COLUMNS} FROM slices WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(slice_from_row).transpose()
}

/// Claims the oldest queued slice for the pool: it becomes `slicing`, started now, its
/// heartbeat now. Another instance's claim of the same row is skipped, not waited for.
pub async fn claim_queued_slice(
    tx: &mut WriteTx,
    now: Timestamp,
) -> Result<Option<Slice>, StoreError> {
    let select = tx.claiming(&format!(
        "SELECT {SLICE_COLUMNS} FROM slices WHERE state = 'queued' ORDER BY id LIMIT 1"
    ));
    let row = sqlx::query(sqlx::AssertSqlSafe(select))
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut slice = slice_from_row(&row)?;
    sqlx::query(
        "UPDATE slices SET state = 'slicing', started_at = $1, heartbeat_at = $1 \
         WHERE id = $2 AND state = 'queued'",
    )
    .bind(now.micros())
    .bind(slice.id.get())
    .execute(&mut **tx)
    .await?;
    slice.state = SliceState::Slicing;
    slice.started_at = Some(now);
    Ok(Some(slice))
}

/// Records progress (and renews the heartbeat) of a slice still `slicing`. Returns its state
/// now: `cancelled` when someone cancelled it meanwhile.
pub async fn slice_heartbeat(
    conn: &mut Conn,
    id: SliceId,
    progress: u8,
    now: Timestamp,
) -> Result<Option<SliceState>, StoreError> {
    sqlx::query(
        "UPDATE slices SET progress = $1, heartbeat_at = $2 WHERE id = $3 AND state = 'slicing'",
    )
    .bind(i64::from(progress.min(100)))
    .bind(now.micros())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT state FROM slices WHERE id = $1")
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| {
        let state = text(&row, "state")?;
        SliceState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("slice state {state:?}")))
    })
    .transpose()
}

/// Ends a slice that is `from` (queued or slicing): done with its G-code, failed or cancelled
/// with a message. Returns whether it was still `from` (a slice cancelled meanwhile is not
/// overwritten).
pub async fn finish_slice(
    conn: &mut Conn,
    id: SliceId,
    from: SliceState,
    to: SliceState,
    message: Option<&str>,
    gcode: Option<FileId>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let progress: i64 = if to == SliceState::Done { 100 } else { -1 };
    let changed = sqlx::query(
        "UPDATE slices SET state = $1, message = $2, gcode_file_id = $3, finished_at = $4, \
         progress = CASE WHEN $5 < 0 THEN progress ELSE $5 END \
         WHERE id = $6 AND state = $7",
    )
    .bind(to.key())
    .bind(message.map(str::to_string))
    .bind(gcode.map(FileId::get))
    .bind(now.micros())
    .bind(progress)
    .bind(id.get())
    .bind(from.key())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Puts a slice that is `slicing` back in the queue (its server is stopping). Returns whether
/// it was `slicing`.
pub async fn requeue_slice(conn: &mut Conn, id: SliceId) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE slices SET state = 'queued', progress = 0, started_at = NULL, heartbeat_at = NULL \
         WHERE id = $1 AND state = 'slicing'",
    )
    .bind(id.get())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// Slices `slicing` whose heartbeat is older than `before`: their server stopped or crashed
/// while PrusaSlicer ran.
pub async fn stalled_slices(
    conn: &mut Conn,
    before: Timestamp,
) -> Result<Vec<(SliceId, OrgId)>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, org_id FROM slices WHERE state = 'slicing' AND heartbeat_at < $1 ORDER BY id",
    )
    .bind(before.micros())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| Ok((SliceId(int(row, "id")?), OrgId(int(row, "org_id")?))))
        .collect()
}

/// How many slices wait or run, for the pool's view and the metrics.
pub async fn count_open_slices(conn: &mut Conn) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS queued, \
         COALESCE(SUM(CASE WHEN state = 'slicing' THEN 1 ELSE 0 END), 0) AS slicing \
         FROM slices WHERE state IN ('queued', 'slicing')",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((int(&row, "queued")?, int(&row, "slicing")?))
}

// ---- profiles ----

/// A profile to record or the new content of one.
#[derive(Debug, Clone)]
pub struct NewSlicerProfile<'a> {
    pub name: &'a str,
    pub printer_model_id: PrinterModelId,
    pub material: &'a str,
    pub settings: &'a BTreeMap<String, String>,
    pub locked: &'a [String],
}

const PROFILE_COLUMNS: &str =
    "id, org_id, name, printer_model_id, material, settings, locked, created_at, updated_at";

fn profile_from_row(row: &AnyRow) -> Result<SlicerProfile, StoreError> {
    Ok(SlicerProfile {
        id: SlicerProfileId(int(row, "id")?),
        org_id: OrgId(int(row, "org_id")?),
        name: text(row, "name")?,
        printer_model_id: PrinterModelId(int(row, "printer_model_id")?),
        material: text(row, "material")?,
        settings: json_column(row, "settings")?,
        locked: json_column(row, "locked")?,
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

/// Records a profile; `None` when the organization has one of that name.
pub async fn insert_slicer_profile(
    conn: &mut Conn,
    org: OrgId,
    profile: &NewSlicerProfile<'_>,
    now: Timestamp,
) -> Result<Option<SlicerProfileId>, StoreError> {
    let row = sqlx::query(
        "INSERT INTO slicer_profiles (org_id, name, printer_model_id, material, settings, locked, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (org_id, name) DO NOTHING RETURNING id",
    )
    .bind(org.get())
    .bind(profile.name.to_string())
    .bind(profile.printer_model_id.get())
    .bind(profile.material.to_string())
    .bind(json_text(profile.settings)?)
    .bind(json_text(profile.locked)?)
    .bind(now.micros())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| Ok(SlicerProfileId(int(&row, "id")?)))
        .transpose()
}

/// Replaces a profile's content; `false` when another profile has the new name.
pub async fn update_slicer_profile(
    conn: &mut Conn,
    org: OrgId,
    id: SlicerProfileId,
    profile: &NewSlicerProfile<'_>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let taken = sqlx::query(
        "SELECT COUNT(*) AS n FROM slicer_profiles WHERE org_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(org.get())
    .bind(profile.name.to_string())
    .bind(id.get())
    .fetch_one(&mut *conn)
    .await?;
    if int(&taken, "n")? > 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE slicer_profiles SET name = $1, printer_model_id = $2, material = $3, \
         settings = $4, locked = $5, updated_at = $6 WHERE org_id = $7 AND id = $8",
    )
    .bind(profile.name.to_string())
    .bind(profile.printer_model_id.get())
    .bind(profile.material.to_string())
    .bind(json_text(profile.settings)?)
    .bind(json_text(profile.locked)?)
    .bind(now.micros())
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub async fn get_slicer_profile(
    conn: &mut Conn,
    org: OrgId,
    id: SlicerProfileId,
) -> Result<Option<SlicerProfile>, StoreError> {
    let sql =
        format!("SELECT {PROFILE_COLUMNS} FROM slicer_profiles WHERE org_id = $1 AND id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(id.get())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(profile_from_row).transpose()
}

/// The organization's profiles, by name; only those of one printer model when given.
pub async fn list_slicer_profiles(
    conn: &mut Conn,
    org: OrgId,
    model: Option<PrinterModelId>,
) -> Result<Vec<SlicerProfile>, StoreError> {
    let sql = format!(
        "SELECT {PROFILE_COLUMNS} FROM slicer_profiles WHERE org_id = $1 \
         AND ($2 = 0 OR printer_model_id = $2) ORDER BY name, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(model.map_or(0, PrinterModelId::get))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(profile_from_row).collect()
}

pub async fn delete_slicer_profile(
    conn: &mut Conn,
    org: OrgId,
    id: SlicerProfileId,
) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM slicer_profiles WHERE org_id = $1 AND id = $2")
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

fn lock_from_row(row: &AnyRow) -> Result<SlicerLock, StoreError> {
    Ok(SlicerLock {
        org_id: OrgId(int(row, "org_id")?),
        setting: text(row, "setting")?,
        value: text(row, "value")?,
        below_rank_id: RankId(int(row, "below_rank_id")?),
        created_at: ts(row, "created_at")?,
        updated_at: ts(row, "updated_at")?,
    })
}

const LOCK_COLUMNS: &str = "org_id, setting, value, below_rank_id, created_at, updated_at";

/// The organization's setting locks, by setting.
pub async fn list_slicer_locks(conn: &mut Conn, org: OrgId) -> Result<Vec<SlicerLock>, StoreError> {
    let sql = format!("SELECT {LOCK_COLUMNS} FROM slicer_locks WHERE org_id = $1 ORDER BY setting");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(lock_from_row).collect()
}

pub async fn get_slicer_lock(
    conn: &mut Conn,
    org: OrgId,
    setting: &str,
) -> Result<Option<SlicerLock>, StoreError> {
    let sql = format!("SELECT {LOCK_COLUMNS} FROM slicer_locks WHERE org_id = $1 AND setting = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.get())
        .bind(setting.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(lock_from_row).transpose()
}

/// Locks `setting` at `value` below `below_rank`, replacing the setting's lock if it has one.
pub async fn put_slicer_lock(
    conn: &mut Conn,
    org: OrgId,
    setting: &str,
    value: &str,
    below_rank: RankId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO slicer_locks (org_id, setting, value, below_rank_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (org_id, setting) DO UPDATE SET \
         value = excluded.value, below_rank_id = excluded.below_rank_id, \
         updated_at = excluded.updated_at",
    )
    .bind(org.get())
    .bind(setting.to_string())
    .bind(value.to_string())
    .bind(below_rank.get())
    .bind(now.micros())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes a setting's lock; `false` when it had none.
pub async fn delete_slicer_lock(
    conn: &mut Conn,
    org: OrgId,
    setting: &str,
) -> Result<bool, StoreError> {
    let deleted = sqlx::query("DELETE FROM slicer_locks WHERE org_id = $1 AND setting = $2")
        .bind(org.get())
        .bind(setting.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}

/// How many setting locks name the rank as their threshold.
pub async fn count_slicer_locks_below(
    conn: &mut Conn,
    org: OrgId,
    rank: RankId,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM slicer_locks WHERE org_id = $1 AND below_rank_id = $2",
    )
    .bind(org.get())
    .bind(rank.get())
    .fetch_one(&mut *conn)
    .await?;
    int(&row, "n")
}
