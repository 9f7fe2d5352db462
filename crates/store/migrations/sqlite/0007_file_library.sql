-- The file library: uploaded content stored once per organization by its SHA-256 (blobs, the
-- bytes themselves in the blob store), files naming that content (a member's upload or copy,
-- with its analysis), library projects (named folders with an owner) and their shares, and
-- the organization's G-code upload restriction (3DPrinterOS).

ALTER TABLE organizations ADD COLUMN gcode_upload_restricted INTEGER NOT NULL DEFAULT 0;

-- One row per stored content; the blob store holds the bytes under orgs/<org_id>/<sha256>.
CREATE TABLE blobs (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, sha256)
);

-- Thumbnails depend on the content only, so copies of a file share them. format: png | jpeg | qoi.
CREATE TABLE blob_thumbnails (
    org_id BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    n INTEGER NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (org_id, sha256, n),
    FOREIGN KEY (org_id, sha256) REFERENCES blobs (org_id, sha256) ON DELETE CASCADE
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    owner_member_id BIGINT NOT NULL REFERENCES memberships (id),
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, owner_member_id, name)
);

-- Exactly one of member_id and workgroup_id. level: view | edit.
CREATE TABLE project_shares (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    member_id BIGINT REFERENCES memberships (id),
    workgroup_id BIGINT REFERENCES workgroups (id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    CHECK ((member_id IS NULL) <> (workgroup_id IS NULL)),
    UNIQUE (project_id, member_id),
    UNIQUE (project_id, workgroup_id)
);
CREATE INDEX project_shares_member ON project_shares (member_id);
CREATE INDEX project_shares_workgroup ON project_shares (workgroup_id);

-- kind: gcode. project_id NULL: the owner's personal space. analysis: JSON, NULL until ready.
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    kind TEXT NOT NULL,
    owner_member_id BIGINT NOT NULL REFERENCES memberships (id),
    project_id BIGINT REFERENCES projects (id),
    analysis TEXT,
    created_at BIGINT NOT NULL,
    -- Set when its owner removes a file that jobs still print from: gone from the library,
    -- kept for those jobs (their history, reprints).
    removed_at BIGINT,
    FOREIGN KEY (org_id, sha256) REFERENCES blobs (org_id, sha256)
);
CREATE INDEX files_owner ON files (org_id, owner_member_id, id);
CREATE INDEX files_project ON files (project_id, id);
CREATE INDEX files_blob ON files (org_id, sha256);
