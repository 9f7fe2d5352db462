-- Copies of one job print on several printers at once.

-- Copies printed, printing, or claimed by a dispatcher pass on their way to a printer: the
-- dispatcher starts another copy of a printing job only while this is below `copies`, and
-- claims it by raising it in one statement, so two passes never start the same copy.
ALTER TABLE jobs ADD COLUMN copies_started INTEGER NOT NULL DEFAULT 0;

-- Set when a copy failed ('failed') or was cancelled ('cancelled') at its printer while
-- other copies still printed: no further copy starts, and the job ends so once they end.
ALTER TABLE jobs ADD COLUMN stopped_copy TEXT;

UPDATE jobs SET copies_started = copies_done
    + CASE WHEN state IN ('assigned', 'printing', 'paused', 'unknown') THEN 1 ELSE 0 END;
