-- Wall displays: a link that shows one site's printers on a lab's screen, live, to whoever
-- holds it (no account on that screen). Only a hash of the link's secret is stored; the link
-- is shown once, when it is made. A revoked link stops working at once.
CREATE TABLE display_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    site_id BIGINT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT NOT NULL REFERENCES memberships (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX display_links_org ON display_links (org_id, id);
