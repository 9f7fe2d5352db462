-- Each member's usage kept running per quarter of an hour (UTC), beside the rows it sums.
--
-- A quota's window (a day, an ISO week, a calendar month or a custom range of days, in the
-- organization's time zone) starts and ends at a local midnight, which is a whole quarter of
-- an hour in UTC in every time zone in use, so the window's usage is the sum of the buckets
-- inside it: a handful of rows read, however many jobs the member has. A trigger moves the
-- bucket in the transaction of every change to job_usage (rows are inserted, their amounts
-- updated when a job settles, and deleted only with their job); counted_at never changes.
-- Every change to a member's job_usage rows happens with their account locked, so the
-- bucket's row lock is always taken after it and never waited for in another order.
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

CREATE FUNCTION job_usage_move_bucket() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_buckets (org_id, member_id, starts_at, prints, seconds, grams,
            cost_minor)
        VALUES (NEW.org_id, NEW.member_id, NEW.counted_at - (NEW.counted_at % 900000000),
            NEW.prints, NEW.seconds, NEW.grams, NEW.cost_minor)
        ON CONFLICT (org_id, member_id, starts_at) DO UPDATE SET
            prints = usage_buckets.prints + EXCLUDED.prints,
            seconds = usage_buckets.seconds + EXCLUDED.seconds,
            grams = usage_buckets.grams + EXCLUDED.grams,
            cost_minor = usage_buckets.cost_minor + EXCLUDED.cost_minor;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE usage_buckets SET prints = prints + NEW.prints - OLD.prints,
            seconds = seconds + NEW.seconds - OLD.seconds,
            grams = grams + NEW.grams - OLD.grams,
            cost_minor = cost_minor + NEW.cost_minor - OLD.cost_minor
        WHERE org_id = OLD.org_id AND member_id = OLD.member_id
            AND starts_at = OLD.counted_at - (OLD.counted_at % 900000000);
    ELSE
        UPDATE usage_buckets SET prints = prints - OLD.prints, seconds = seconds - OLD.seconds,
            grams = grams - OLD.grams, cost_minor = cost_minor - OLD.cost_minor
        WHERE org_id = OLD.org_id AND member_id = OLD.member_id
            AND starts_at = OLD.counted_at - (OLD.counted_at % 900000000);
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER job_usage_move_bucket AFTER INSERT OR DELETE OR UPDATE OF prints, seconds,
    grams, cost_minor ON job_usage
FOR EACH ROW EXECUTE FUNCTION job_usage_move_bucket();

-- Each member's count of jobs waiting or printing (every state but completed, failed,
-- cancelled and rejected), kept on their account row by a trigger on every job's state change:
-- what max_active_jobs is checked against, one row read however many jobs they have. The
-- account row is locked by the change of a job's state between waiting and ended, as the
-- settling of that job locks it right after in the same transaction anyway.
ALTER TABLE memberships ADD COLUMN active_jobs BIGINT NOT NULL DEFAULT 0;
UPDATE memberships SET active_jobs = (SELECT COUNT(*) FROM jobs j
    WHERE j.owner_member_id = memberships.id
        AND j.state NOT IN ('completed', 'failed', 'cancelled', 'rejected'));
CREATE FUNCTION jobs_count_active() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    was BOOLEAN := TG_OP <> 'INSERT'
        AND OLD.state NOT IN ('completed', 'failed', 'cancelled', 'rejected');
    is_now BOOLEAN := TG_OP <> 'DELETE'
        AND NEW.state NOT IN ('completed', 'failed', 'cancelled', 'rejected');
BEGIN
    IF was AND NOT is_now THEN
        UPDATE memberships SET active_jobs = active_jobs - 1 WHERE id = OLD.owner_member_id;
    ELSIF is_now AND NOT was THEN
        UPDATE memberships SET active_jobs = active_jobs + 1 WHERE id = NEW.owner_member_id;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER jobs_count_active AFTER INSERT OR DELETE OR UPDATE OF state ON jobs
FOR EACH ROW EXECUTE FUNCTION jobs_count_active();
