-- Printer fleet: what a printer model is (build volume, nozzle, materials, motion limits for the
-- G-code estimator, hourly rate), how each printer is reached (driver, URL, credential encrypted
-- with the server's key), its persisted state, every state transition, and print runs.

ALTER TABLE printer_models ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE printer_models ADD COLUMN build_x_mm REAL NOT NULL DEFAULT 0;
ALTER TABLE printer_models ADD COLUMN build_y_mm REAL NOT NULL DEFAULT 0;
ALTER TABLE printer_models ADD COLUMN build_z_mm REAL NOT NULL DEFAULT 0;
ALTER TABLE printer_models ADD COLUMN nozzle_diameter_mm REAL NOT NULL DEFAULT 0.4;
-- JSON array of material names ("PLA", "PETG", …); empty: any.
ALTER TABLE printer_models ADD COLUMN materials TEXT NOT NULL DEFAULT '[]';
-- JSON object of gcode::Profile fields that differ from the built-in default.
ALTER TABLE printer_models ADD COLUMN motion TEXT NOT NULL DEFAULT '{}';
-- Price of an hour of machine time, in minor units of the organization's currency.
ALTER TABLE printer_models ADD COLUMN hourly_rate_minor BIGINT NOT NULL DEFAULT 0;

-- driver: simulated | octoprint | moonraker. credential: ciphertext (never the secret itself).
-- settings: JSON of driver settings that are not secret (simulation speed, …).
ALTER TABLE printers ADD COLUMN driver TEXT NOT NULL DEFAULT 'simulated';
ALTER TABLE printers ADD COLUMN url TEXT NOT NULL DEFAULT '';
ALTER TABLE printers ADD COLUMN credential TEXT;
ALTER TABLE printers ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
-- Persisted live state: offline | idle | printing | paused | awaiting_bed_clear | error |
-- maintenance; detail holds the error message.
ALTER TABLE printers ADD COLUMN state TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE printers ADD COLUMN state_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE printers ADD COLUMN state_since BIGINT NOT NULL DEFAULT 0;
-- Farmhand-side holds that outlive a disconnect: out of service, and a plate to clear after a
-- print ended (the printer takes no job until someone allowed confirms).
ALTER TABLE printers ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
ALTER TABLE printers ADD COLUMN bed_clear_pending INTEGER NOT NULL DEFAULT 0;

-- One attempt at printing a file on a printer. started_by is NULL for prints started at the
-- printer (unmanaged). state: printing | paused | completed | failed | cancelled | unknown.
CREATE TABLE prints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    printer_id BIGINT NOT NULL REFERENCES printers (id),
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL DEFAULT '',
    file_size BIGINT NOT NULL DEFAULT 0,
    estimated_s REAL NOT NULL DEFAULT 0,
    started_by BIGINT REFERENCES memberships (id),
    managed INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX prints_printer ON prints (printer_id, id);
CREATE INDEX prints_org_state ON prints (org_id, state);

CREATE TABLE printer_state_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    printer_id BIGINT NOT NULL REFERENCES printers (id),
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    detail TEXT NOT NULL,
    print_id BIGINT REFERENCES prints (id),
    occurred_at BIGINT NOT NULL
);
CREATE INDEX printer_state_events_printer ON printer_state_events (printer_id, id);

-- "printers.manage" became separate permissions to add, edit and remove printers, printer
-- models and printer groups: whoever held it holds all nine.
UPDATE ranks SET permissions = TRIM(REPLACE(' ' || permissions || ' ', ' printers.manage ', ' printers.add printers.edit printers.remove printer_models.add printer_models.edit printer_models.remove printer_groups.add printer_groups.edit printer_groups.remove '));
UPDATE ranks SET tri_state = TRIM(REPLACE(' ' || tri_state || ' ', ' printers.manage ', ' printers.add printers.edit printers.remove printer_models.add printer_models.edit printer_models.remove printer_groups.add printer_groups.edit printer_groups.remove '));
UPDATE api_tokens SET permissions = TRIM(REPLACE(' ' || permissions || ' ', ' printers.manage ', ' printers.add printers.edit printers.remove printer_models.add printer_models.edit printer_models.remove printer_groups.add printer_groups.edit printer_groups.remove '))
    WHERE permissions IS NOT NULL;
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printers.add', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printers.edit', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printers.remove', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_models.add', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_models.edit', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_models.remove', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_groups.add', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_groups.edit', allow FROM member_overrides WHERE permission = 'printers.manage';
INSERT INTO member_overrides (member_id, permission, allow)
    SELECT member_id, 'printer_groups.remove', allow FROM member_overrides WHERE permission = 'printers.manage';
DELETE FROM member_overrides WHERE permission = 'printers.manage';
