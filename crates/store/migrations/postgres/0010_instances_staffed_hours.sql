-- Several Farmhand instances on one database: each printer is supervised by one instance at a
-- time, the holder of its lease.

-- The instances running now (and recently): where the others reach them, to hand on a request
-- about a printer that one of them supervises. heartbeat_at is renewed every few seconds.
CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- A printer's lease: the instance that supervises it, until expires_at unless renewed. An
-- expired lease is free for any instance to take; the taker reconciles the printer's print in
-- flight from what is recorded, never restarts it.
CREATE TABLE printer_leases (
    printer_id BIGINT PRIMARY KEY REFERENCES printers (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX printer_leases_instance ON printer_leases (instance_id);

-- Staffed hours: when someone is at the site to clear a finished print's plate, as a JSON list
-- of periods (empty: always staffed); the dispatcher starts a job only if it would end within
-- one, or at most staffed_grace_minutes after one ends.
ALTER TABLE sites ADD COLUMN staffed_hours TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sites ADD COLUMN staffed_grace_minutes INTEGER NOT NULL DEFAULT 0;
