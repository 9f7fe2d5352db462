//! Reading the audit log: filtered, cursor-paginated listing and a streaming CSV export. Every
//! export is itself audited before the first byte is sent.

use authz::Permission;
use domain::audit::Chain;
use domain::{AuditEvent, Timestamp, UserId};
use futures::Stream;
use serde_json::json;
use store::{AuditFilter, AuditPage};

use crate::App;
use crate::actor::{OrgActor, with_change};
use crate::error::{AppError, AppResult};

/// Filters and paging for the audit log, as given in the query string.
#[derive(Debug, Default)]
pub struct AuditQuery {
    /// Only events by this user.
    pub actor_user_id: Option<UserId>,
    /// Only this action, e.g. `member.deactivate`.
    pub action: Option<String>,
    /// Only events about this kind of target, e.g. `site`.
    pub target_type: Option<String>,
    /// Only events about this target (with `target_type`).
    pub target_id: Option<String>,
    /// Events at or after this time (RFC 3339); not after `to`.
    pub from: Option<Timestamp>,
    /// Events before this time (RFC 3339).
    pub to: Option<Timestamp>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

impl AuditQuery {
    fn filter(&self) -> AppResult<AuditFilter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(AppError::Invalid(domain::Invalid::new(
                "from",
                "must not be after `to`",
            )));
        }
        let non_empty = |s: &Option<String>| s.as_ref().filter(|s| !s.is_empty()).cloned();
        Ok(AuditFilter {
            actor_user_id: self.actor_user_id,
            action: non_empty(&self.action),
            target_type: non_empty(&self.target_type),
            target_id: non_empty(&self.target_id),
            from: self.from,
            to: self.to,
        })
    }

    fn summary(&self) -> serde_json::Value {
        json!({
            "actor_user_id": self.actor_user_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "from": self.from,
            "to": self.to,
        })
    }
}

pub const AUDIT_CSV_HEADER: &[&str] = &[
    "id",
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_user_id",
    "actor_token_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "client_ip",
    "user_agent",
    "request_id",
    "hash",
];

/// Keeps spreadsheet programs from running a cell as a formula (CSV injection).
pub(crate) fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// Writes one event as a CSV record, in the order of [`AUDIT_CSV_HEADER`].
pub fn write_audit_csv<W: std::io::Write>(
    writer: &mut csv::Writer<W>,
    event: &AuditEvent,
) -> csv::Result<()> {
    writer.write_field(event.id.to_string())?;
    writer.write_field(event.seq.to_string())?;
    writer.write_field(event.occurred_at.to_rfc3339())?;
    writer.write_field(event.actor_kind.as_str())?;
    writer.write_field(event.actor_user_id.map_or(String::new(), |u| u.to_string()))?;
    writer.write_field(
        event
            .actor_token_id
            .map_or(String::new(), |t| t.to_string()),
    )?;
    writer.write_field(cell(&event.actor_label).as_ref())?;
    writer.write_field(&event.action)?;
    writer.write_field(&event.target_type)?;
    writer.write_field(
        event
            .target_id
            .as_deref()
            .map(cell)
            .unwrap_or_default()
            .as_ref(),
    )?;
    writer.write_field(event.before.as_ref().map_or("", |v| v.get()))?;
    writer.write_field(event.after.as_ref().map_or("", |v| v.get()))?;
    writer.write_field(event.client_ip.as_deref().unwrap_or_default())?;
    writer.write_field(
        event
            .user_agent
            .as_deref()
            .map(cell)
            .unwrap_or_default()
            .as_ref(),
    )?;
    writer.write_field(event.request_id.as_deref().unwrap_or_default())?;
    writer.write_field(&event.hash)?;
    writer.write_record(None::<&[u8]>)
}

const EXPORT_BATCH: u32 = 2000;

pub(crate) fn csv_chunk(
    write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> csv::Result<()>,
) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(1 << 20));
    write(&mut writer).map_err(AppError::internal)?;
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string().into()))
}

/// The audit log: listing and exporting what happened.
#[derive(Clone, Copy)]
pub struct AuditLog<'a> {
    pub(crate) app: &'a App,
}

impl App {
    pub fn audit_log(&self) -> AuditLog<'_> {
        AuditLog { app: self }
    }
}

impl AuditLog<'_> {
    pub async fn list_audit(&self, actor: &OrgActor, query: &AuditQuery) -> AppResult<AuditPage> {
        actor.require(Permission::AuditView)?;
        let limit = crate::paging::page_size(query.limit)?;
        let filter = query.filter()?;
        let mut conn = self.app.store().read().await?;
        Ok(store::list_audit(
            &mut conn,
            Chain::Org(actor.org()),
            &filter,
            query.cursor,
            limit,
        )
        .await?)
    }

    /// Audits the export, then streams the matching events oldest first as CSV, a batch at a
    /// time, so memory stays flat however long the log is.
    pub async fn export_audit_csv(
        &self,
        actor: &OrgActor,
        query: &AuditQuery,
    ) -> AppResult<impl Stream<Item = AppResult<Vec<u8>>> + Send + 'static> {
        actor.require(Permission::AuditExport)?;
        // The same query string as the list's, checked the same way; the page size does not
        // apply to the export.
        crate::paging::page_size(query.limit)?;
        let filter = query.filter()?;
        let mut uow = self.app.begin_unattributed().await?;
        let event = actor.event(self.app.now(), "audit.export", "audit_log", actor.org());
        uow.audit_event(with_change(event, None, Some(query.summary())));
        uow.commit().await?;

        let header = csv_chunk(|w| w.write_record(AUDIT_CSV_HEADER))?;
        let store = self.app.store().clone();
        let chain = Chain::Org(actor.org());
        // State: (next cursor, whether the header is still to be sent, whether we are done).
        let stream = futures::stream::try_unfold(
            (None, Some(header), false),
            move |(after, header, done)| {
                let store = store.clone();
                let filter = filter.clone();
                async move {
                    if let Some(header) = header {
                        return Ok(Some((header, (after, None, false))));
                    }
                    if done {
                        return Ok(None);
                    }
                    let batch = {
                        let mut conn = store.read().await?;
                        store::audit_batch_ascending(&mut conn, chain, &filter, after, EXPORT_BATCH)
                            .await?
                    };
                    let Some(last) = batch.last().map(|e| e.seq) else {
                        return Ok(None);
                    };
                    let bytes = csv_chunk(|w| {
                        batch.iter().try_for_each(|event| write_audit_csv(w, event))
                    })?;
                    let finished = batch.len() < EXPORT_BATCH as usize;
                    Ok(Some((bytes, (Some(last), None, finished))))
                }
            },
        );
        Ok(stream)
    }
}
