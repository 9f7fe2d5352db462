-- Wall displays: when a link was last opened, so managers can tell a screen still in use from
-- a forgotten link before revoking it. Written at most once a minute per link.
ALTER TABLE display_links ADD COLUMN last_used_at BIGINT;
