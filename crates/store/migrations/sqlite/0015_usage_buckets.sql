-- Each member's usage kept running per quarter of an hour (UTC), beside the rows it sums.
--
-- A quota's window (a day, an ISO week, a calendar month or a custom range of days, in the
-- organization's time zone) starts and ends at a local midnight, which is a whole quarter of
-- an hour in UTC in every time zone in use, so the window's usage is the sum of the buckets
-- inside it: a handful of rows read, however many jobs the member has. A trigger moves the
-- bucket in the transaction of every change to job_usage (rows are inserted, their amounts
-- updated when a job settles, and deleted only with their job); counted_at never changes.
CREATE TABLE usage_buckets (
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    -- The quarter of an hour's start, in microseconds since the epoch (UTC).
    starts_at BIGINT NOT NULL,
    prints BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    grams BIGINT NOT NULL,
    cost_minor BIGINT NOT NULL,
    PRIMARY KEY (org_id, member_id, starts_at)
);
INSERT INTO usage_buckets (org_id, member_id, starts_at, prints, seconds, grams, cost_minor)
SELECT org_id, member_id, counted_at - (counted_at % 900000000), SUM(prints), SUM(seconds),
    SUM(grams), SUM(cost_minor)
FROM job_usage GROUP BY org_id, member_id, counted_at - (counted_at % 900000000);

CREATE TRIGGER job_usage_into_bucket AFTER INSERT ON job_usage
BEGIN
    INSERT INTO usage_buckets (org_id, member_id, starts_at, prints, seconds, grams, cost_minor)
    VALUES (NEW.org_id, NEW.member_id, NEW.counted_at - (NEW.counted_at % 900000000),
        NEW.prints, NEW.seconds, NEW.grams, NEW.cost_minor)
    ON CONFLICT (org_id, member_id, starts_at) DO UPDATE SET
        prints = prints + excluded.prints, seconds = seconds + excluded.seconds,
        grams = grams + excluded.grams, cost_minor = cost_minor + excluded.cost_minor;
END;

CREATE TRIGGER job_usage_moves_bucket AFTER UPDATE OF prints, seconds, grams, cost_minor
ON job_usage
BEGIN
    UPDATE usage_buckets SET prints = prints + NEW.prints - OLD.prints,
        seconds = seconds + NEW.seconds - OLD.seconds, grams = grams + NEW.grams - OLD.grams,
        cost_minor = cost_minor + NEW.cost_minor - OLD.cost_minor
    WHERE org_id = OLD.org_id AND member_id = OLD.member_id
        AND starts_at = OLD.counted_at - (OLD.counted_at % 900000000);
END;

CREATE TRIGGER job_usage_out_of_bucket AFTER DELETE ON job_usage
BEGIN
    UPDATE usage_buckets SET prints = prints - OLD.prints, seconds = seconds - OLD.seconds,
        grams = grams - OLD.grams, cost_minor = cost_minor - OLD.cost_minor
    WHERE org_id = OLD.org_id AND member_id = OLD.member_id
        AND starts_at = OLD.counted_at - (OLD.counted_at % 900000000);
END;

-- Each member's count of jobs waiting or printing (every state but completed, failed,
-- cancelled and rejected), kept on their account row by a trigger on every job's state change:
-- what max_active_jobs is checked against, one row read however many jobs they have.
ALTER TABLE memberships ADD COLUMN active_jobs BIGINT NOT NULL DEFAULT 0;
UPDATE memberships SET active_jobs = (SELECT COUNT(*) FROM jobs j
    WHERE j.owner_member_id = memberships.id
        AND j.state NOT IN ('completed', 'failed', 'cancelled', 'rejected'));
CREATE TRIGGER jobs_count_active_insert AFTER INSERT ON jobs
WHEN NEW.state NOT IN ('completed', 'failed', 'cancelled', 'rejected')
BEGIN
    UPDATE memberships SET active_jobs = active_jobs + 1 WHERE id = NEW.owner_member_id;
END;
CREATE TRIGGER jobs_count_active_update AFTER UPDATE OF state ON jobs
WHEN (OLD.state NOT IN ('completed', 'failed', 'cancelled', 'rejected'))
    <> (NEW.state NOT IN ('completed', 'failed', 'cancelled', 'rejected'))
BEGIN
    UPDATE memberships SET active_jobs = active_jobs
        + (CASE WHEN NEW.state NOT IN ('completed', 'failed', 'cancelled', 'rejected')
            THEN 1 ELSE -1 END)
    WHERE id = NEW.owner_member_id;
END;
CREATE TRIGGER jobs_count_active_delete AFTER DELETE ON jobs
WHEN OLD.state NOT IN ('completed', 'failed', 'cancelled', 'rejected')
BEGIN
    UPDATE memberships SET active_jobs = active_jobs - 1 WHERE id = OLD.owner_member_id;
END;
