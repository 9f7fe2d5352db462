-- Quotas and money, faster and per run.

-- Each member's balance and held amount kept beside the ledger on their account row: the sums
-- of ledger_entries.amount_minor and .hold_minor, moved by a trigger in the transaction of
-- every entry (entries are append-only, so inserts are the only moves; a sum past the 64-bit
-- range fails the entry).
ALTER TABLE memberships ADD COLUMN balance_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN held_minor BIGINT NOT NULL DEFAULT 0;
UPDATE memberships SET
    balance_minor = COALESCE((SELECT SUM(amount_minor) FROM ledger_entries l
        WHERE l.member_id = memberships.id), 0),
    held_minor = COALESCE((SELECT SUM(hold_minor) FROM ledger_entries l
        WHERE l.member_id = memberships.id), 0);
CREATE FUNCTION ledger_entries_move_balance() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE memberships SET balance_minor = balance_minor + NEW.amount_minor,
        held_minor = held_minor + NEW.hold_minor
    WHERE id = NEW.member_id;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER ledger_entries_move_balance AFTER INSERT ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_move_balance();

-- What a job counts, one row per run: a job revived after it printed keeps what its earlier
-- run printed (counted in that run's period) and holds anew in a row of its own. run: 1 for
-- the submission, one more for each revival.
ALTER TABLE job_usage ADD COLUMN run BIGINT NOT NULL DEFAULT 1;
ALTER TABLE job_usage DROP CONSTRAINT job_usage_pkey;
ALTER TABLE job_usage ADD PRIMARY KEY (job_id, run);
-- The sums of a member's periods read this index alone (it covers every column they use).
DROP INDEX job_usage_member;
CREATE INDEX job_usage_member ON job_usage (org_id, member_id, counted_at)
    INCLUDE (job_id, run, prints, seconds, grams, cost_minor);

-- The active-job count reads this index alone.
CREATE INDEX jobs_owner_state ON jobs (org_id, owner_member_id, state);
