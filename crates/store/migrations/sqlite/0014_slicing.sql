-- Slicing on the server (issue 17): models in the library (files of kind stl, 3mf, obj with
-- what the model checks found), the organization's slicing profiles, and slices (a model
-- turned into G-code by PrusaSlicer in the slicing pool).

-- For a model: its format, facets, objects, bounds and size (JSON).
ALTER TABLE files ADD COLUMN model TEXT;
-- For G-code Farmhand sliced: the slice, model and settings that made it (JSON).
ALTER TABLE files ADD COLUMN sliced_from TEXT;

-- settings: JSON object of PrusaSlicer option key -> value (text); locked: JSON array of keys.
-- printer_model_id is not a foreign key: a profile of a removed printer model stays, unusable.
CREATE TABLE slicer_profiles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    printer_model_id BIGINT NOT NULL,
    material TEXT NOT NULL,
    settings TEXT NOT NULL,
    locked TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX slicer_profiles_model ON slicer_profiles (org_id, printer_model_id);

-- state: queued | slicing | done | failed | cancelled. The model's and G-code's file IDs are
-- not foreign keys: either may leave the library while the slice's record stays.
-- heartbeat_at: renewed while PrusaSlicer runs; a slice whose heartbeat stopped (its server
-- stopped or crashed) is failed by the pool.
CREATE TABLE slices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    owner_member_id BIGINT NOT NULL REFERENCES memberships (id),
    model_file_id BIGINT NOT NULL,
    model_name TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    model_kind TEXT NOT NULL,
    printer_model_id BIGINT NOT NULL,
    profile_id BIGINT,
    settings TEXT NOT NULL,
    requested TEXT NOT NULL,
    placement TEXT NOT NULL,
    state TEXT NOT NULL,
    progress INTEGER NOT NULL,
    message TEXT,
    gcode_file_id BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    heartbeat_at BIGINT
);
CREATE INDEX slices_state ON slices (state, id);
CREATE INDEX slices_owner ON slices (org_id, owner_member_id, id);
