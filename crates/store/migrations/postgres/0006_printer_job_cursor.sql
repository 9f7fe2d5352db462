-- How far Farmhand has read a printer's own record of its jobs (Moonraker's job history), so
-- that prints made while Farmhand was not watching are recorded once when it is back.
-- NULL: never read (the first reading only marks where the record stands); '': read while the
-- record was empty; else the printer's ID of the last job Farmhand accounted for.
ALTER TABLE printers ADD COLUMN job_cursor TEXT;
