-- Quotas and money, faster and per run.

-- Each member's balance and held amount kept beside the ledger on their account row: the sums
-- of ledger_entries.amount_minor and .hold_minor, moved by a trigger in the transaction of
-- every entry (entries are append-only, so inserts are the only moves). A sum that would leave
-- the 64-bit range aborts the entry instead of turning into a float.
ALTER TABLE memberships ADD COLUMN balance_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN held_minor BIGINT NOT NULL DEFAULT 0;
UPDATE memberships SET
    balance_minor = COALESCE((SELECT SUM(amount_minor) FROM ledger_entries l
        WHERE l.member_id = memberships.id), 0),
    held_minor = COALESCE((SELECT SUM(hold_minor) FROM ledger_entries l
        WHERE l.member_id = memberships.id), 0);
CREATE TRIGGER ledger_entries_move_balance AFTER INSERT ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'balance out of range') FROM memberships
    WHERE id = NEW.member_id
        AND (typeof(balance_minor + NEW.amount_minor) <> 'integer'
            OR typeof(held_minor + NEW.hold_minor) <> 'integer');
    UPDATE memberships SET balance_minor = balance_minor + NEW.amount_minor,
        held_minor = held_minor + NEW.hold_minor
    WHERE id = NEW.member_id;
END;

-- What a job counts, one row per run: a job revived after it printed keeps what its earlier
-- run printed (counted in that run's period) and holds anew in a row of its own. run: 1 for
-- the submission, one more for each revival.
CREATE TABLE job_usage_runs (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    run BIGINT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    counted_at BIGINT NOT NULL,
    print_seconds BIGINT NOT NULL,
    prints BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    grams BIGINT NOT NULL,
    cost_minor BIGINT NOT NULL,
    estimate TEXT NOT NULL,
    final TEXT,
    held_minor BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, run)
);
INSERT INTO job_usage_runs (job_id, run, org_id, member_id, counted_at, print_seconds, prints,
    seconds, grams, cost_minor, estimate, final, held_minor)
SELECT job_id, 1, org_id, member_id, counted_at, print_seconds, prints, seconds, grams,
    cost_minor, estimate, final, held_minor FROM job_usage;
DROP TABLE job_usage;
ALTER TABLE job_usage_runs RENAME TO job_usage;
-- The sums of a member's periods read this index alone (it covers every column they use).
CREATE INDEX job_usage_member ON job_usage
    (org_id, member_id, counted_at, job_id, run, prints, seconds, grams, cost_minor);

-- The active-job count reads this index alone.
CREATE INDEX jobs_owner_state ON jobs (org_id, owner_member_id, state);
