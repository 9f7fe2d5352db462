//! The append-only, hash-chained audit log.

use domain::audit::{
    ActorKind, AuditContent, Chain, ChainBreak, ChainVerifier, GENESIS_HASH, NewAuditEvent,
    StoredAuditEvent,
};
use domain::{AuditEvent, AuditEventId, Timestamp, TokenId, UserId};
use sqlx::any::AnyRow;

use crate::rows::{int, opt_int, opt_text, text};
use crate::{Conn, Store, StoreError};

fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// Appends an event to its chain inside the caller's transaction. The chain's head row is
/// locked (on SQLite the whole database is, by `BEGIN IMMEDIATE`), so concurrent appends
/// queue up instead of forking the chain.
pub async fn append_audit(
    conn: &mut Conn,
    event: NewAuditEvent,
) -> Result<AuditEventId, StoreError> {
    let key = event.chain.key();
    let select_head = if is_postgres(conn) {
        "SELECT seq, hash FROM audit_heads WHERE chain_key = $1 FOR UPDATE"
    } else {
        "SELECT seq, hash FROM audit_heads WHERE chain_key = $1"
    };
    let mut head = sqlx::query(select_head)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    if head.is_none() {
        sqlx::query("INSERT INTO audit_heads (chain_key, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (chain_key) DO NOTHING")
            .bind(key)
            .bind(GENESIS_HASH)
            .execute(&mut *conn)
            .await?;
        head = sqlx::query(select_head)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?;
    }
    let head =
        head.ok_or_else(|| StoreError::Corrupt(format!("audit head of chain {key} vanished")))?;
    let seq = int(&head, "seq")? + 1;
    let content = event.into_content(seq, text(&head, "hash")?);
    let hash = content.hash();
    let row = sqlx::query(
        "INSERT INTO audit_events (chain_key, seq, occurred_at, actor_kind, actor_user_id, actor_token_id, \
         actor_label, action, target_type, target_id, before_summary, after_summary, client_ip, user_agent, \
         request_id, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
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
    .bind(hash.clone())
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE chain_key = $3")
        .bind(seq)
        .bind(hash)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(AuditEventId(int(&row, "id")?))
}

/// Which events to list or export. Empty fields do not filter.
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
    pub next_cursor: Option<AuditEventId>,
}

const EVENT_COLUMNS: &str = "id, chain_key, seq, occurred_at, actor_kind, actor_user_id, actor_token_id, actor_label, \
     action, target_type, target_id, before_summary, after_summary, client_ip, user_agent, request_id, prev_hash, hash";

// Absent filters are bound as sentinels rather than NULLs, so both backends can type every
// parameter.
const FILTER_WHERE: &str = "chain_key = $1 \
     AND ($2 = 0 OR actor_user_id = $2) AND ($3 = '' OR action = $3) \
     AND ($4 = '' OR target_type = $4) AND ($5 = '' OR target_id = $5) \
     AND occurred_at >= $6 AND occurred_at < $7";

fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    chain: Chain,
    filter: &AuditFilter,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(chain.key())
        .bind(filter.actor_user_id.map_or(0, UserId::get))
        .bind(filter.action.clone().unwrap_or_default())
        .bind(filter.target_type.clone().unwrap_or_default())
        .bind(filter.target_id.clone().unwrap_or_default())
        .bind(filter.from.map_or(i64::MIN, Timestamp::micros))
        .bind(filter.to.map_or(i64::MAX, Timestamp::micros))
}

fn parse_summary(raw: Option<String>) -> Result<Option<serde_json::Value>, StoreError> {
    raw.map(|s| {
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("audit summary: {e}")))
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

fn event_from_stored(stored: StoredAuditEvent) -> Result<AuditEvent, StoreError> {
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

/// One page of a chain's events, newest first, strictly older than `before` when given.
pub async fn list_audit(
    conn: &mut Conn,
    chain: Chain,
    filter: &AuditFilter,
    before: Option<AuditEventId>,
    limit: u32,
) -> Result<AuditPage, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {FILTER_WHERE} AND id < $8 ORDER BY id DESC LIMIT $9"
    );
    let rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), chain, filter)
        .bind(before.map_or(i64::MAX, AuditEventId::get))
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *conn)
        .await?;
    let mut events = rows
        .iter()
        .map(|row| event_from_stored(stored_from_row(row)?))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if events.len() > limit as usize {
        events.truncate(limit as usize);
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_cursor,
    })
}

/// Up to `limit` events oldest first, strictly after `after`: the export's batches.
pub async fn audit_batch_ascending(
    conn: &mut Conn,
    chain: Chain,
    filter: &AuditFilter,
    after: Option<AuditEventId>,
    limit: u32,
) -> Result<Vec<AuditEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {FILTER_WHERE} AND id > $8 ORDER BY id LIMIT $9"
    );
    let rows = bind_filter(sqlx::query(sqlx::AssertSqlSafe(sql)), chain, filter)
        .bind(after.map_or(0, AuditEventId::get))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| event_from_stored(stored_from_row(row)?))
        .collect()
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
