//! The job history as CSV: every finished job matching the filters, streamed a batch at a
//! time (memory stays flat however long the history is), the export itself audited first.

use authz::Permission;
use domain::{Job, MemberId};
use futures::Stream;
use serde_json::json;

use super::Jobs;
use super::queue::JobQuery;
use crate::actor::{OrgActor, with_change};
use crate::audit_log::csv_chunk;
use crate::error::AppResult;

/// The columns of the export, in order.
pub const JOB_CSV_HEADER: &[&str] = &[
    "id",
    "state",
    "owner_member_id",
    "owner_name",
    "file_id",
    "target_kind",
    "target_id",
    "printer_id",
    "priority",
    "copies",
    "note",
    "reason",
    "created_at",
    "finished_at",
];

const EXPORT_BATCH: u32 = 2000;

/// Writes one job as a CSV record, in the order of [`JOB_CSV_HEADER`].
pub fn write_job_csv<W: std::io::Write>(
    writer: &mut csv::Writer<W>,
    job: &Job,
    owner_name: &str,
) -> csv::Result<()> {
    let (kind, target_id) = job.target.parts();
    let optional = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    writer.write_record([
        job.id.to_string(),
        job.state.key().to_string(),
        job.owner_member_id.to_string(),
        crate::audit_log::cell(owner_name).into_owned(),
        job.file_id.to_string(),
        kind.to_string(),
        optional(target_id),
        optional(job.printer_id.map(|p| p.get())),
        job.priority.to_string(),
        job.copies.to_string(),
        crate::audit_log::cell(&job.note).into_owned(),
        crate::audit_log::cell(job.reason.as_deref().unwrap_or_default()).into_owned(),
        job.created_at.to_string(),
        job.finished_at.map(|t| t.to_string()).unwrap_or_default(),
    ])
}

impl Jobs<'_> {
    /// Audits the export (`queue.export`), then streams the finished jobs the actor may see
    /// (their own, or everyone's with `queue.history.all`), most recently finished first.
    pub async fn export_history_csv(
        &self,
        actor: &OrgActor,
        query: JobQuery,
    ) -> AppResult<impl Stream<Item = AppResult<Vec<u8>>> + Send + 'static> {
        actor.require(Permission::QueueExport)?;
        // The listing's checks (and scope: own or all) apply; the page size does not.
        let first = self
            .list(
                actor,
                JobQuery {
                    limit: Some(1),
                    ..query.clone()
                },
                true,
            )
            .await?;
        drop(first);
        let owner = if actor.holds(Permission::QueueHistoryAll) {
            query.owner
        } else {
            Some(actor.member_id())
        };
        let mut uow = self.app.begin_unattributed().await?;
        let event = actor.event(self.app.now(), "job.export", "job_history", actor.org());
        let summary = json!({ "state": query.state.map(|s| s.key()), "owner": owner.map(MemberId::get),
            "printer_id": query.printer.map(|p| p.get()) });
        uow.audit_event(with_change(event, None, Some(summary)));
        uow.commit().await?;

        let filter = store::JobFilter {
            states: query.state.into_iter().collect(),
            owner,
            printer: query.printer,
            target: query.target,
            from: query.from,
            to: query.to,
            text: super::queue::job_text(actor, query.text.as_deref())?,
        };
        let header = csv_chunk(|w| w.write_record(JOB_CSV_HEADER))?;
        let store = self.app.store().clone();
        let org = actor.org();
        let stream = futures::stream::try_unfold(
            (None, Some(header), false),
            move |(after, header, done): (Option<store::HistoryCursor>, Option<Vec<u8>>, bool)| {
                let store = store.clone();
                let filter = filter.clone();
                async move {
                    if let Some(header) = header {
                        return Ok(Some((header, (after, None, false))));
                    }
                    if done {
                        return Ok(None);
                    }
                    let (batch, names) = {
                        let mut conn = store.read().await?;
                        let list = store::JobList::History { after };
                        let batch =
                            store::list_jobs(&mut conn, org, &filter, list, EXPORT_BATCH).await?;
                        (batch, store::member_names(&mut conn, org).await?)
                    };
                    let Some(last) = batch.last() else {
                        return Ok(None);
                    };
                    let cursor = last.finished_at.map(|finished_at| store::HistoryCursor {
                        finished_at,
                        id: last.id,
                    });
                    let bytes = csv_chunk(|w| {
                        batch.iter().try_for_each(|job| {
                            let name = names.get(&job.owner_member_id).map_or("", String::as_str);
                            write_job_csv(w, job, name)
                        })
                    })?;
                    let finished = batch.len() < EXPORT_BATCH as usize;
                    Ok(Some((bytes, (cursor, None, finished))))
                }
            },
        );
        Ok(stream)
    }
}
