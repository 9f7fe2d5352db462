-- Dispatch: jobs reach printers by themselves and follow their prints.

-- Fair share: among jobs of equal priority the dispatcher takes first the job of whoever has
-- had the least printing time over the last fair_share_window_days days.
ALTER TABLE organizations ADD COLUMN fair_share INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN fair_share_window_days INTEGER NOT NULL DEFAULT 7;

-- The job a print was started for (one print per copy); NULL for prints started by hand or
-- at the printer.
ALTER TABLE prints ADD COLUMN job_id BIGINT REFERENCES jobs (id);
CREATE INDEX prints_job ON prints (job_id);

-- On: the dispatcher starts the jobs it matches to the printer. Off: a matched job waits
-- `assigned` to it until someone starts it.
ALTER TABLE printers ADD COLUMN auto_start INTEGER NOT NULL DEFAULT 1;

-- The printer an approver (or an operator, by hand) chose for the job: its copies and its
-- retries go there only. printer_id is where it goes or went.
ALTER TABLE jobs ADD COLUMN chosen_printer_id BIGINT REFERENCES printers (id);

-- Copies of a job printed so far: the job is completed when all are.
ALTER TABLE jobs ADD COLUMN copies_done INTEGER NOT NULL DEFAULT 0;

-- The dispatcher's pass: queued jobs of every organization, in the order they are taken.
CREATE INDEX jobs_dispatch ON jobs (org_id, priority DESC, queue_position, id)
    WHERE state = 'queued';

-- A job whose printer dropped off mid-print is `unknown` until the printer answers: still in
-- the queue, so the queue's partial index takes that state too.
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (org_id, priority DESC, queue_position, id)
    WHERE state IN ('pending_approval', 'sent_back', 'queued', 'assigned', 'printing', 'paused', 'unknown');

-- A printer reserved for a member or a workgroup (exactly one) from starts_at to ends_at:
-- meanwhile the dispatcher sends it only their jobs.
CREATE TABLE printer_reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    printer_id BIGINT NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
    member_id BIGINT REFERENCES memberships (id),
    workgroup_id BIGINT REFERENCES workgroups (id) ON DELETE CASCADE,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES memberships (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX printer_reservations_printer ON printer_reservations (printer_id, ends_at);
CREATE INDEX printer_reservations_org ON printer_reservations (org_id, ends_at);
