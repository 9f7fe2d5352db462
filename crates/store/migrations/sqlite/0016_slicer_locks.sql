-- Slicer setting locks (issue 17): the organization locks a PrusaSlicer setting to a value for
-- every member whose rank is below below_rank_id in the seniority order (owners are never
-- bound). One lock per setting. A rank a lock names cannot be deleted while the lock stays.
CREATE TABLE slicer_locks (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    setting TEXT NOT NULL,
    value TEXT NOT NULL,
    below_rank_id BIGINT NOT NULL REFERENCES ranks (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, setting)
);
CREATE INDEX slicer_locks_rank ON slicer_locks (below_rank_id);
