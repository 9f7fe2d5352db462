//! The organization's submission questions and the answers jobs carry.

use std::collections::{BTreeMap, HashMap};

use domain::{AnswerValue, JobId, OrgId, Question, QuestionId, QuestionKind, Timestamp};
use sqlx::any::AnyRow;

use crate::rows::{flag, int, json_column, json_text, text};
use crate::{Conn, StoreError};

const QUESTION_COLUMNS: &str = "id, label, kind, required, choices, position";

fn question_from_row(row: &AnyRow) -> Result<Question, StoreError> {
    let kind = text(row, "kind")?;
    Ok(Question {
        id: QuestionId(int(row, "id")?),
        label: text(row, "label")?,
        kind: QuestionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("question kind {kind:?}")))?,
        required: flag(row, "required")?,
        choices: json_column(row, "choices")?,
        position: i32::try_from(int(row, "position")?)
            .map_err(|_| StoreError::Corrupt("question position out of range".into()))?,
    })
}

/// What a question is made of, to insert or update.
pub struct QuestionFields<'a> {
    pub label: &'a str,
    pub kind: QuestionKind,
    pub required: bool,
    pub choices: &'a [String],
}

/// The questions asked now (not archived), in order.
pub async fn list_questions(conn: &mut Conn, org: OrgId) -> Result<Vec<Question>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {QUESTION_COLUMNS} FROM submission_questions \
         WHERE org_id = $1 AND archived_at IS NULL ORDER BY position, id"
    )))
    .bind(org.get())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(question_from_row).collect()
}

/// A question asked now.
pub async fn get_question(
    conn: &mut Conn,
    org: OrgId,
    id: QuestionId,
) -> Result<Option<Question>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {QUESTION_COLUMNS} FROM submission_questions \
         WHERE org_id = $1 AND id = $2 AND archived_at IS NULL"
    )))
    .bind(org.get())
    .bind(id.get())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(question_from_row).transpose()
}

pub async fn insert_question(
    conn: &mut Conn,
    org: OrgId,
    question: &QuestionFields<'_>,
    now: Timestamp,
) -> Result<QuestionId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO submission_questions (org_id, label, kind, required, choices, position, created_at) \
         VALUES ($1, $2, $3, $4, $5, \
         (SELECT COALESCE(MAX(position), 0) + 1 FROM submission_questions WHERE org_id = $1), $6) \
         RETURNING id",
    )
    .bind(org.get())
    .bind(question.label.to_string())
    .bind(question.kind.key())
    .bind(question.required)
    .bind(json_text(question.choices)?)
    .bind(now.micros())
    .fetch_one(&mut *conn)
    .await?;
    Ok(QuestionId(int(&row, "id")?))
}

pub async fn update_question(
    conn: &mut Conn,
    org: OrgId,
    id: QuestionId,
    question: &QuestionFields<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE submission_questions SET label = $1, kind = $2, required = $3, choices = $4 \
         WHERE org_id = $5 AND id = $6",
    )
    .bind(question.label.to_string())
    .bind(question.kind.key())
    .bind(question.required)
    .bind(json_text(question.choices)?)
    .bind(org.get())
    .bind(id.get())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stops asking a question; answers already given keep it.
pub async fn archive_question(
    conn: &mut Conn,
    org: OrgId,
    id: QuestionId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE submission_questions SET archived_at = $1 WHERE org_id = $2 AND id = $3")
        .bind(now.micros())
        .bind(org.get())
        .bind(id.get())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces a job's answers.
pub async fn set_answers(
    conn: &mut Conn,
    job: JobId,
    answers: &BTreeMap<QuestionId, AnswerValue>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM job_answers WHERE job_id = $1")
        .bind(job.get())
        .execute(&mut *conn)
        .await?;
    add_answers(conn, job, answers).await
}

/// Records the answers of a job that has none yet.
pub async fn add_answers(
    conn: &mut Conn,
    job: JobId,
    answers: &BTreeMap<QuestionId, AnswerValue>,
) -> Result<(), StoreError> {
    for (question, value) in answers {
        sqlx::query("INSERT INTO job_answers (job_id, question_id, value) VALUES ($1, $2, $3)")
            .bind(job.get())
            .bind(question.get())
            .bind(json_text(value)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A job's answers, by question.
pub async fn job_answers(
    conn: &mut Conn,
    job: JobId,
) -> Result<BTreeMap<QuestionId, AnswerValue>, StoreError> {
    let rows = sqlx::query("SELECT question_id, value FROM job_answers WHERE job_id = $1")
        .bind(job.get())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                QuestionId(int(row, "question_id")?),
                json_column(row, "value")?,
            ))
        })
        .collect()
}

/// The answers of several jobs (a page of a listing) in one query; a job without answers has
/// none in the map.
pub async fn answers_of_jobs(
    conn: &mut Conn,
    jobs: &[JobId],
) -> Result<HashMap<JobId, BTreeMap<QuestionId, AnswerValue>>, StoreError> {
    let mut answers: HashMap<JobId, BTreeMap<QuestionId, AnswerValue>> = HashMap::new();
    if jobs.is_empty() {
        return Ok(answers);
    }
    let placeholders: Vec<String> = (1..=jobs.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT job_id, question_id, value FROM job_answers WHERE job_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for job in jobs {
        query = query.bind(job.get());
    }
    for row in query.fetch_all(&mut *conn).await? {
        answers
            .entry(JobId(int(&row, "job_id")?))
            .or_default()
            .insert(
                QuestionId(int(&row, "question_id")?),
                json_column(&row, "value")?,
            );
    }
    Ok(answers)
}
