-- Authorization: rank details, tri-state overrides, the printers access is about, printer
-- access grants, and a version that changes with every authorization fact so that caches of
-- compiled rights know when to reload.

ALTER TABLE organizations ADD COLUMN bed_clear_access TEXT NOT NULL DEFAULT 'print_access';
ALTER TABLE organizations ADD COLUMN authz_version BIGINT NOT NULL DEFAULT 1;

ALTER TABLE ranks ADD COLUMN tri_state TEXT NOT NULL DEFAULT '';
-- "all", or space-separated items: site:ID group:ID model:ID printer:ID
ALTER TABLE ranks ADD COLUMN scope TEXT NOT NULL DEFAULT 'all';
ALTER TABLE ranks ADD COLUMN out_of_scope TEXT NOT NULL DEFAULT 'hidden';
ALTER TABLE ranks ADD COLUMN member_scope TEXT NOT NULL DEFAULT 'everyone';

CREATE TABLE member_overrides (
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    permission TEXT NOT NULL,
    allow INTEGER NOT NULL,
    PRIMARY KEY (member_id, permission)
);

CREATE TABLE printer_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE printer_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE printers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    site_id BIGINT NOT NULL REFERENCES sites (id),
    model_id BIGINT REFERENCES printer_models (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX printers_site ON printers (site_id);

CREATE TABLE printer_group_members (
    group_id BIGINT NOT NULL REFERENCES printer_groups (id) ON DELETE CASCADE,
    printer_id BIGINT NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, printer_id)
);
CREATE INDEX printer_group_members_printer ON printer_group_members (printer_id);

-- subject_kind: rank | workgroup | member; target_kind: all | site | group | model | printer
-- (target_id 0 for all); level: view | queue | print | manage.
CREATE TABLE printer_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    subject_kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id BIGINT NOT NULL,
    level TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, subject_kind, subject_id, target_kind, target_id)
);
