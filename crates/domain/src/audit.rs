//! The audit log's tamper evidence. Each organization's events form a hash chain: every event
//! stores the hash of the previous event and the hash of its own canonical content (which
//! includes the previous hash), so editing, removing or reordering any stored event breaks the
//! chain from that point on.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{OrgId, Timestamp, TokenId, UserId};

/// The previous-hash of the first event in a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Which chain an event belongs to: an organization's, or the instance's own (sign-ins, which
/// belong to a person rather than to one organization, and administrative commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Chain {
    Instance,
    Org(OrgId),
}

impl Chain {
    /// The stored key: 0 for the instance chain, otherwise the organization's ID.
    pub fn key(self) -> i64 {
        match self {
            Chain::Instance => 0,
            Chain::Org(org) => org.get(),
        }
    }
    pub fn from_key(key: i64) -> Chain {
        if key == 0 {
            Chain::Instance
        } else {
            Chain::Org(OrgId(key))
        }
    }
    pub fn org(self) -> Option<OrgId> {
        match self {
            Chain::Instance => None,
            Chain::Org(org) => Some(org),
        }
    }
}

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in with a session.
    User,
    /// A person acting through one of their API tokens.
    Token,
    /// The server itself or an administrator at the command line.
    System,
    /// Someone not signed in (for example a failed sign-in).
    Anonymous,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::Token => "token",
            ActorKind::System => "system",
            ActorKind::Anonymous => "anonymous",
        }
    }
    pub fn parse(s: &str) -> Option<ActorKind> {
        Some(match s {
            "user" => ActorKind::User,
            "token" => ActorKind::Token,
            "system" => ActorKind::System,
            "anonymous" => ActorKind::Anonymous,
            _ => return None,
        })
    }
}

/// The content of one audit event, exactly as it is hashed. Field order is part of the
/// canonical form: changing it would break every existing chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditContent {
    pub chain: i64,
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_kind: &'static str,
    pub actor_user_id: Option<i64>,
    pub actor_token_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    /// Summaries as stored JSON text: hashing the text avoids any re-serialization ambiguity.
    pub before: Option<String>,
    pub after: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
}

impl AuditContent {
    /// SHA-256 of the canonical JSON encoding, as lower-case hex.
    pub fn hash(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&canonical))
    }
}

/// Everything about an event except its place in the chain; the store assigns `seq` and
/// `prev_hash` under the chain's lock.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub chain: Chain,
    pub occurred_at: Timestamp,
    pub actor_kind: ActorKind,
    pub actor_user_id: Option<UserId>,
    pub actor_token_id: Option<TokenId>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl NewAuditEvent {
    pub fn into_content(self, seq: i64, prev_hash: String) -> AuditContent {
        AuditContent {
            chain: self.chain.key(),
            seq,
            occurred_at: self.occurred_at.micros(),
            actor_kind: self.actor_kind.as_str(),
            actor_user_id: self.actor_user_id.map(UserId::get),
            actor_token_id: self.actor_token_id.map(TokenId::get),
            actor_label: self.actor_label,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id,
            before: self.before.map(|v| v.to_string()),
            after: self.after.map(|v| v.to_string()),
            client_ip: self.client_ip,
            user_agent: self.user_agent,
            request_id: self.request_id,
            prev_hash,
        }
    }
}

/// A stored event as read back for verification.
#[derive(Debug, Clone)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub content: AuditContent,
    pub hash: String,
}

/// The first place a chain stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {id} (seq {seq}): its stored content does not match its hash (edited)")]
    ContentMismatch { id: i64, seq: i64 },
    #[error(
        "event {id} (seq {seq}): it does not link to the previous event (inserted, removed or reordered)"
    )]
    LinkMismatch { id: i64, seq: i64 },
    #[error("event {id}: expected seq {expected}, found {found} (events removed or inserted)")]
    SeqGap { id: i64, expected: i64, found: i64 },
    #[error(
        "the chain ends at seq {last_seq} but its head records seq {head_seq} (events removed from the end)"
    )]
    HeadMismatch { last_seq: i64, head_seq: i64 },
}

/// Checks events of one chain, fed in seq order, one at a time so any length fits in memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, event: &StoredAuditEvent) -> Result<(), ChainBreak> {
        let (id, seq) = (event.id, event.content.seq);
        if seq != self.expected_seq {
            return Err(ChainBreak::SeqGap {
                id,
                expected: self.expected_seq,
                found: seq,
            });
        }
        if event.content.hash() != event.hash {
            return Err(ChainBreak::ContentMismatch { id, seq });
        }
        if event.content.prev_hash != self.prev_hash {
            return Err(ChainBreak::LinkMismatch { id, seq });
        }
        self.expected_seq += 1;
        self.prev_hash.clone_from(&event.hash);
        Ok(())
    }

    /// Compares the end of the chain with its recorded head (seq and hash).
    pub fn finish(self, head: Option<(i64, &str)>) -> Result<i64, ChainBreak> {
        let last_seq = self.expected_seq - 1;
        match head {
            None if last_seq == 0 => Ok(0),
            None => Err(ChainBreak::HeadMismatch {
                last_seq,
                head_seq: 0,
            }),
            Some((head_seq, head_hash)) if head_seq == last_seq && head_hash == self.prev_hash => {
                Ok(last_seq)
            }
            Some((head_seq, _)) => Err(ChainBreak::HeadMismatch { last_seq, head_seq }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredAuditEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let content = NewAuditEvent {
                    chain: Chain::Org(OrgId(7)),
                    occurred_at: Timestamp::from_micros(seq * 1000),
                    actor_kind: ActorKind::User,
                    actor_user_id: Some(UserId(1)),
                    actor_token_id: None,
                    actor_label: "ada@example.org".into(),
                    action: "site.create".into(),
                    target_type: "site".into(),
                    target_id: Some(seq.to_string()),
                    before: None,
                    after: Some(serde_json::json!({"name": format!("Site {seq}")})),
                    client_ip: None,
                    user_agent: None,
                    request_id: None,
                }
                .into_content(seq, prev.clone());
                let hash = content.hash();
                prev.clone_from(&hash);
                StoredAuditEvent {
                    id: seq + 100,
                    content,
                    hash,
                }
            })
            .collect()
    }

    fn verify(events: &[StoredAuditEvent], head: Option<(i64, &str)>) -> Result<i64, ChainBreak> {
        let mut verifier = ChainVerifier::default();
        for e in events {
            verifier.check(e)?;
        }
        verifier.finish(head)
    }

    #[test]
    fn intact_chain_verifies() {
        let events = chain(5);
        let head = events.last().map(|e| (e.content.seq, e.hash.as_str()));
        assert_eq!(verify(&events, head), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn edits_removals_and_truncation_are_caught() {
        let events = chain(5);
        let head = Some((5, events[4].hash.clone()));
        let head = head.as_ref().map(|(s, h)| (*s, h.as_str()));

        let mut edited = events.clone();
        edited[2].content.action = "site.delete".into();
        assert_eq!(
            verify(&edited, head),
            Err(ChainBreak::ContentMismatch { id: 103, seq: 3 })
        );

        // Re-hashing the edited event does not help: the next link breaks.
        edited[2].hash = edited[2].content.hash();
        assert_eq!(
            verify(&edited, head),
            Err(ChainBreak::LinkMismatch { id: 104, seq: 4 })
        );

        let mut removed = events.clone();
        removed.remove(1);
        assert!(matches!(
            verify(&removed, head),
            Err(ChainBreak::SeqGap { .. })
        ));

        assert!(matches!(
            verify(&events[..4], head),
            Err(ChainBreak::HeadMismatch { .. })
        ));
    }
}
