-- Flags become native booleans. They were 0/1 integers so that one SQL text served both
-- dialects; the store now binds booleans (sent as booleans to PostgreSQL, as 0/1 to SQLite)
-- and compares with TRUE/FALSE, which both dialects read. Any non-zero value was true.

ALTER TABLE users
    ALTER COLUMN must_change_password DROP DEFAULT,
    ALTER COLUMN must_change_password TYPE BOOLEAN USING must_change_password <> 0,
    ALTER COLUMN must_change_password SET DEFAULT FALSE;

ALTER TABLE ranks
    ALTER COLUMN is_owner DROP DEFAULT,
    ALTER COLUMN is_owner TYPE BOOLEAN USING is_owner <> 0,
    ALTER COLUMN is_owner SET DEFAULT FALSE;

ALTER TABLE memberships
    ALTER COLUMN active DROP DEFAULT,
    ALTER COLUMN active TYPE BOOLEAN USING active <> 0,
    ALTER COLUMN active SET DEFAULT TRUE;

ALTER TABLE workgroup_members
    ALTER COLUMN is_moderator DROP DEFAULT,
    ALTER COLUMN is_moderator TYPE BOOLEAN USING is_moderator <> 0,
    ALTER COLUMN is_moderator SET DEFAULT FALSE;

ALTER TABLE member_overrides
    ALTER COLUMN allow TYPE BOOLEAN USING allow <> 0;

ALTER TABLE printers
    ALTER COLUMN maintenance DROP DEFAULT,
    ALTER COLUMN maintenance TYPE BOOLEAN USING maintenance <> 0,
    ALTER COLUMN maintenance SET DEFAULT FALSE,
    ALTER COLUMN bed_clear_pending DROP DEFAULT,
    ALTER COLUMN bed_clear_pending TYPE BOOLEAN USING bed_clear_pending <> 0,
    ALTER COLUMN bed_clear_pending SET DEFAULT FALSE;

ALTER TABLE prints
    ALTER COLUMN managed TYPE BOOLEAN USING managed <> 0;
