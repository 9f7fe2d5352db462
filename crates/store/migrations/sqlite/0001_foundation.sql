-- Foundation: people, organizations, sites, ranks, workgroups, sign-in and the audit log.
-- Times are microseconds since the Unix epoch; flags are 0/1 integers (portable across dialects).

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE ranks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    position INTEGER NOT NULL,
    is_owner INTEGER NOT NULL DEFAULT 0,
    permissions TEXT NOT NULL,
    UNIQUE (org_id, name),
    UNIQUE (org_id, position)
);

CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    time_zone TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    rank_id BIGINT NOT NULL REFERENCES ranks (id),
    site_id BIGINT REFERENCES sites (id) ON DELETE SET NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    deactivated_at BIGINT,
    UNIQUE (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_rank ON memberships (rank_id);

CREATE TABLE workgroups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE workgroup_members (
    workgroup_id BIGINT NOT NULL REFERENCES workgroups (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    is_moderator INTEGER NOT NULL DEFAULT 0,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (workgroup_id, member_id)
);
CREATE INDEX workgroup_members_member ON workgroup_members (member_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    -- NULL once the rank is deleted (only settled invitations can outlive their rank).
    rank_id BIGINT REFERENCES ranks (id) ON DELETE SET NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by BIGINT NOT NULL REFERENCES memberships (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by BIGINT REFERENCES users (id),
    revoked_at BIGINT
);
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    revoked_at BIGINT,
    client_ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- NULL: all of the owner's current rights; otherwise a subset, still capped by them.
    permissions TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_member ON api_tokens (member_id);

-- chain_key is the organization's ID, or 0 for the instance's own chain.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_key BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_user_id BIGINT,
    actor_token_id BIGINT,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    before_summary TEXT,
    after_summary TEXT,
    client_ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (chain_key, seq)
);
-- Listing and export walk a chain by seq (the unique index); each filter has an index that
-- keeps seq order, so a filtered page is a range scan, never a sort.
CREATE INDEX audit_events_chain_time ON audit_events (chain_key, occurred_at);
CREATE INDEX audit_events_chain_action ON audit_events (chain_key, action, seq);
CREATE INDEX audit_events_chain_actor ON audit_events (chain_key, actor_user_id, seq);
CREATE INDEX audit_events_chain_target ON audit_events (chain_key, target_type, target_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- The last event of each chain; appends lock this row, so a chain never forks.
CREATE TABLE audit_heads (
    chain_key BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
