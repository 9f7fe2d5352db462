-- Quotas, balances and job cost.

-- A job's estimate is held when it is submitted, or when it is approved: submission | approval.
ALTER TABLE organizations ADD COLUMN hold_at TEXT NOT NULL DEFAULT 'submission';
-- A failed print is charged in full, by its progress, or not at all: full | progress | nothing.
-- balance_floor_minor: how far a member with billing.print_on_insufficient_balance may take
-- their available balance (a negative amount, in minor units); NULL: no floor.
ALTER TABLE organizations ADD COLUMN failed_print_charge TEXT NOT NULL DEFAULT 'full';
ALTER TABLE organizations ADD COLUMN balance_floor_minor BIGINT;

-- Named custom date ranges allowances can count over (a semester), as calendar dates in the
-- organization's time zone, both days included.
CREATE TABLE quota_periods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- An allowance of the organization (no workgroup, no member), a workgroup or a member.
-- kind: prints | printing_hours | material_grams | cost_minor | max_job_duration_s |
-- max_active_jobs. period: day | week | month | range (range_id) | none (the last two kinds).
CREATE TABLE quota_allowances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    workgroup_id BIGINT REFERENCES workgroups (id) ON DELETE CASCADE,
    member_id BIGINT REFERENCES memberships (id),
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    range_id BIGINT REFERENCES quota_periods (id),
    limit_value BIGINT NOT NULL
);
CREATE INDEX quota_allowances_org ON quota_allowances (org_id, member_id, workgroup_id);

-- A member asking for more of an allowance. state: pending | approved | declined.
CREATE TABLE quota_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    range_id BIGINT REFERENCES quota_periods (id),
    requested_limit BIGINT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    granted_limit BIGINT,
    answer TEXT,
    decided_by BIGINT REFERENCES memberships (id),
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX quota_requests_org ON quota_requests (org_id, state, id);

-- What a job counts against its owner's allowances, in the period of counted_at (its
-- submission): the estimate while it is held, what printed once it printed, nothing once it is
-- rejected or cancelled. print_seconds: one copy's estimate. estimate / final: the itemized
-- cost as JSON. held_minor: the balance hold still outstanding for it.
CREATE TABLE job_usage (
    job_id BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
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
    held_minor BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX job_usage_member ON job_usage (org_id, member_id, counted_at);

-- Prices per printer model and material (NULL: any); the most specific row applies.
CREATE TABLE prices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    printer_model_id BIGINT REFERENCES printer_models (id) ON DELETE CASCADE,
    material TEXT,
    per_gram_minor BIGINT NOT NULL,
    per_hour_minor BIGINT NOT NULL,
    flat_fee_minor BIGINT NOT NULL
);
CREATE INDEX prices_org ON prices (org_id);

-- Each member's money, append-only. kind: top_up | hold | charge | release | refund |
-- adjustment. amount_minor moves the balance; hold_minor moves what is held (a hold adds, a
-- release takes away). The balance is SUM(amount_minor), the held amount SUM(hold_minor).
CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    member_id BIGINT NOT NULL REFERENCES memberships (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    hold_minor BIGINT NOT NULL,
    job_id BIGINT REFERENCES jobs (id),
    actor_member_id BIGINT REFERENCES memberships (id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_member ON ledger_entries (org_id, member_id, id);
CREATE INDEX ledger_entries_job ON ledger_entries (job_id);
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
