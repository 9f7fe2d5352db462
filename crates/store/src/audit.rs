//! The append-only, hash-chained audit log.

use domain::audit::{
    ActorKind, AuditContent, Chain, ChainBreak, ChainVerifier, GENESIS_HASH, NewAuditEvent,
    StoredAuditEvent,
};
use domain::{AuditEvent, AuditEventId, Timestamp, TokenId, UserId};
use serde_json::value::RawValue;
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, opt_text, text};
use crate::{Conn, Store, StoreError, WriteTx};

const INSERT_EVENT_COLUMNS: &str = "INSERT INTO audit_events (chain_key, seq, occurred_at, actor_kind, actor_user_id, \
     actor_token_id, actor_label, action, target_type, target_id, before_summary, after_summary, client_ip, user_agent, \
     request_id, prev_hash, hash) VALUES ";
const EVENT_PARAMS: usize = 17;

/// Locks a chain (until the transaction ends) and returns its head's (seq, hash), creating
/// the head on first use. Concurrent appends to one chain therefore queue up instead of
/// forking it, and a chain's order is the commit order of its events.
///
/// How is the backend's: on SQLite the write lock the transaction holds since `BEGIN
/// IMMEDIATE` covers it. On PostgreSQL the head row is locked `FOR UPDATE`, behind a
/// transaction-level advisory lock on the chain that queues appenders in the order they
/// asked: waiters on a row lock are all woken at each commit and race for it, which under
/// contention halves throughput and lets some wait ten times longer than the rest. The head is
/// read after the locks are granted, so it is the latest committed one.
async fn lock_head(tx: &mut WriteTx, key: i64) -> Result<(i64, String), StoreError> {
    let dialect = tx.dialect();
    if let Some(queue) = dialect.audit_chain_queue {
        sqlx::query(queue).bind(key).execute(&mut **tx).await?;
    }
    let head = sqlx::query(dialect.lock_audit_head)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(head) = head {
        return Ok((int(&head, "seq")?, text(&head, "hash")?));
    }
    // The chain's first event. Should another transaction create the head meanwhile (possible
    // only without the queue), the unique key refuses this one rather than fork the chain.
    sqlx::query("INSERT INTO audit_heads (chain_key, seq, hash) VALUES ($1, 0, $2)")
        .bind(key)
        .bind(GENESIS_HASH)
        .execute(&mut **tx)
        .await?;
    Ok((0, GENESIS_HASH.to_string()))
}

async fn set_head(conn: &mut Conn, key: i64, seq: i64, hash: String) -> Result<(), StoreError> {
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE chain_key = $3")
        .bind(seq)
        .bind(hash)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn bind_content<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    content: AuditContent,
    hash: String,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(content.chain)
        .bind(content.seq)
        .bind(content.occurred_at)
        .bind(content.actor_kind)
        .bind(content.actor_user_id)
        .bind(content.actor_token_id)
        .bind(content.actor_label)
        .bind(content.action)
        .bind(content.target_type)
        .bind(content.target_id)
        .bind(content.before)
        .bind(content.after)
        .bind(content.client_ip)
        .bind(content.user_agent)
        .bind(content.request_id)
        .bind(content.prev_hash)
        .bind(hash)
}

/// `($1, …, $17), ($18, …)` for `rows` rows.
fn values_placeholders(rows: usize) -> String {
    let mut sql = String::with_capacity(rows * EVENT_PARAMS * 5);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..EVENT_PARAMS {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * EVENT_PARAMS + col + 1));
        }
        sql.push(')');
    }
    sql
}

/// Appends an event to its chain inside the caller's transaction. The chain stays locked until
/// the transaction ends, so append last, just before committing: every other audited change of
/// the organization waits meanwhile. If the transaction also takes [`lock_rights`](crate::lock_rights),
/// take that first.
pub async fn append_audit(
    tx: &mut WriteTx,
    event: NewAuditEvent,
) -> Result<AuditEventId, StoreError> {
    let key = event.chain.key();
    let (seq, prev_hash) = lock_head(tx, key).await?;
    let content = event.into_content(seq + 1, prev_hash);
    let hash = content.hash();
    let sql = format!(
        "{INSERT_EVENT_COLUMNS}{} RETURNING id",
        values_placeholders(1)
    );
    let row = bind_content(sqlx::query(sqlx::AssertSqlSafe(sql)), content, hash.clone())
        .fetch_one(&mut **tx)
        .await?;
    set_head(tx, key, seq + 1, hash).await?;
    Ok(AuditEventId(int(&row, "id")?))
}

/// Appends many events of one chain at once (imports, seeding), in multi-row inserts.
pub async fn append_audit_many(
    tx: &mut WriteTx,
    chain: Chain,
    events: Vec<NewAuditEvent>,
) -> Result<(), StoreError> {
    const ROWS_PER_INSERT: usize = 500;
    if events.iter().any(|e| e.chain != chain) {
        return Err(StoreError::Unsupported(
            "append_audit_many takes events of one chain",
        ));
    }
    let key = chain.key();
    let (mut seq, mut prev_hash) = lock_head(tx, key).await?;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let batch: Vec<NewAuditEvent> = events.by_ref().take(ROWS_PER_INSERT).collect();
        let sql = format!("{INSERT_EVENT_COLUMNS}{}", values_placeholders(batch.len()));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for event in batch {
            seq += 1;
            let content = event.into_content(seq, prev_hash);
            let hash = content.hash();
            prev_hash = hash.clone();
            query = bind_content(query, content, hash);
        }
        query.execute(&mut **tx).await?;
    }
    set_head(tx, key, seq, prev_hash).await
}

/// Which events to list or export. Absent fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<UserId>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// A page of events, newest first, with the cursor for the next page if there is one.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// The seq to continue before; opaque to clients.
    pub next_cursor: Option<i64>,
}

const EVENT_COLUMNS: &str = "id, chain_key, seq, occurred_at, actor_kind, actor_user_id, actor_token_id, actor_label, \
     action, target_type, target_id, before_summary, after_summary, client_ip, user_agent, request_id, prev_hash, hash";

enum Param {
    Int(i64),
    Text(String),
}

/// A query over one chain: only the active filters become conditions, so the planner can use
/// the matching `(chain_key, …, seq)` index and walk it in seq order.
struct ChainQuery {
    sql: String,
    params: Vec<Param>,
}

impl ChainQuery {
    fn new(filter: &AuditFilter) -> ChainQuery {
        let mut query = ChainQuery {
            sql: format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE chain_key = $1"),
            params: Vec::new(),
        };
        if let Some(user) = filter.actor_user_id {
            query.condition("actor_user_id =", Param::Int(user.get()));
        }
        if let Some(action) = &filter.action {
            query.condition("action =", Param::Text(action.clone()));
        }
        if let Some(target_type) = &filter.target_type {
            query.condition("target_type =", Param::Text(target_type.clone()));
        }
        if let Some(target_id) = &filter.target_id {
            query.condition("target_id =", Param::Text(target_id.clone()));
        }
        if let Some(from) = filter.from {
            query.condition("occurred_at >=", Param::Int(from.micros()));
        }
        if let Some(to) = filter.to {
            query.condition("occurred_at <", Param::Int(to.micros()));
        }
        query
    }

    fn condition(&mut self, column_op: &str, param: Param) {
        self.params.push(param);
        self.sql
            .push_str(&format!(" AND {column_op} ${}", self.params.len() + 1));
    }

    /// Runs the query from the cursor `seq` (`direction` is `"<"` for newest first, `">"` for
    /// oldest first).
    async fn fetch(
        mut self,
        conn: &mut Conn,
        chain: Chain,
        seq: i64,
        direction: &str,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        self.condition(&format!("seq {direction}"), Param::Int(seq));
        let order = if direction == "<" { "DESC" } else { "ASC" };
        self.sql.push_str(&format!(
            " ORDER BY seq {order} LIMIT ${}",
            self.params.len() + 2
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql)).bind(chain.key());
        for param in self.params {
            query = match param {
                Param::Int(v) => query.bind(v),
                Param::Text(v) => query.bind(v),
            };
        }
        Ok(query.bind(limit).fetch_all(&mut *conn).await?)
    }
}

fn parse_summary(raw: Option<String>) -> Result<Option<Box<RawValue>>, StoreError> {
    raw.map(|s| {
        RawValue::from_string(s).map_err(|e| StoreError::Corrupt(format!("audit summary: {e}")))
    })
    .transpose()
}

fn stored_from_row(row: &AnyRow) -> Result<StoredAuditEvent, StoreError> {
    let actor_kind = text(row, "actor_kind")?;
    let actor_kind = ActorKind::parse(&actor_kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown actor kind {actor_kind:?}")))?
        .as_str();
    Ok(StoredAuditEvent {
        id: int(row, "id")?,
        hash: text(row, "hash")?,
        content: AuditContent {
            chain: int(row, "chain_key")?,
            seq: int(row, "seq")?,
            occurred_at: int(row, "occurred_at")?,
            actor_kind,
            actor_user_id: opt_int(row, "actor_user_id")?,
            actor_token_id: opt_int(row, "actor_token_id")?,
            actor_label: text(row, "actor_label")?,
            action: text(row, "action")?,
            target_type: text(row, "target_type")?,
            target_id: opt_text(row, "target_id")?,
            before: opt_text(row, "before_summary")?,
            after: opt_text(row, "after_summary")?,
            client_ip: opt_text(row, "client_ip")?,
            user_agent: opt_text(row, "user_agent")?,
            request_id: opt_text(row, "request_id")?,
            prev_hash: text(row, "prev_hash")?,
        },
    })
}

fn event_from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    let stored = stored_from_row(row)?;
    let c = stored.content;
    Ok(AuditEvent {
        id: AuditEventId(stored.id),
        seq: c.seq,
        occurred_at: Timestamp::from_micros(c.occurred_at),
        actor_kind: ActorKind::parse(c.actor_kind).unwrap_or(ActorKind::System),
        actor_user_id: c.actor_user_id.map(UserId),
        actor_token_id: c.actor_token_id.map(TokenId),
        actor_label: c.actor_label,
        action: c.action,
        target_type: c.target_type,
        target_id: c.target_id,
        before: parse_summary(c.before)?,
        after: parse_summary(c.after)?,
        client_ip: c.client_ip,
        user_agent: c.user_agent,
        request_id: c.request_id,
        hash: stored.hash,
    })
}

/// One page of a chain's events, newest first, older than the cursor `before` when given.
pub async fn list_audit(
    conn: &mut Conn,
    chain: Chain,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<AuditPage, StoreError> {
    let rows = ChainQuery::new(filter)
        .fetch(
            conn,
            chain,
            before.unwrap_or(i64::MAX),
            "<",
            i64::from(limit) + 1,
        )
        .await?;
    let mut events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_cursor,
    })
}

/// Up to `limit` events oldest first, after the seq `after`: the export's batches.
pub async fn audit_batch_ascending(
    conn: &mut Conn,
    chain: Chain,
    filter: &AuditFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    let rows = ChainQuery::new(filter)
        .fetch(conn, chain, after.unwrap_or(0), ">", i64::from(limit))
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// The outcome of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: Chain,
    pub result: Result<i64, ChainBreak>,
}

/// Recomputes chains from the stored rows, in batches so any length fits in memory. With
/// `only`, just that chain; otherwise every chain that has a head or an event.
pub async fn verify_audit(
    store: &Store,
    only: Option<Chain>,
) -> Result<Vec<ChainReport>, StoreError> {
    let mut conn = store.read().await?;
    let chains: Vec<Chain> = match only {
        Some(chain) => vec![chain],
        None => {
            let rows = sqlx::query(
                "SELECT chain_key FROM audit_heads UNION SELECT DISTINCT chain_key FROM audit_events ORDER BY chain_key",
            )
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| Ok(Chain::from_key(int(r, "chain_key")?)))
                .collect::<Result<_, StoreError>>()?
        }
    };
    let mut reports = Vec::with_capacity(chains.len());
    for chain in chains {
        let result = verify_chain(&mut conn, chain).await?;
        reports.push(ChainReport { chain, result });
    }
    Ok(reports)
}

async fn verify_chain(
    conn: &mut Conn,
    chain: Chain,
) -> Result<Result<i64, ChainBreak>, StoreError> {
    const BATCH: i64 = 5000;
    let mut verifier = ChainVerifier::default();
    let mut after_seq = 0;
    loop {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE chain_key = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(chain.key())
            .bind(after_seq)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let event = stored_from_row(row)?;
            after_seq = event.content.seq;
            if let Err(broken) = verifier.check(&event) {
                return Ok(Err(broken));
            }
        }
        if (rows.len() as i64) < BATCH {
            break;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_heads WHERE chain_key = $1")
        .bind(chain.key())
        .fetch_optional(&mut *conn)
        .await?;
    let head = head
        .map(|h| Ok::<_, StoreError>((int(&h, "seq")?, text(&h, "hash")?)))
        .transpose()?;
    Ok(verifier.finish(head.as_ref().map(|(s, h)| (*s, h.as_str()))))
}
