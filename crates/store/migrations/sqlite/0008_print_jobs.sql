-- Print jobs: the organization's approval setting, its submission questions, jobs with their
-- answers, and each job's timeline (who did each step, when and why).

-- Jobs of members whose rank lacks approval.skip wait in pending_approval.
ALTER TABLE organizations ADD COLUMN approval_required INTEGER NOT NULL DEFAULT 0;

-- kind: text | choice | multi_choice | number. choices: JSON array of strings. Archived
-- questions are no longer asked; answers already given keep them.
CREATE TABLE submission_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    required INTEGER NOT NULL,
    choices TEXT NOT NULL DEFAULT '[]',
    position INTEGER NOT NULL,
    archived_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX submission_questions_org ON submission_questions (org_id, position);

-- state: pending_approval | queued | assigned | printing | paused | completed | failed |
-- cancelled | rejected | sent_back. target_kind: printer | group | model | site | any (no
-- target_id). idempotency_key and request_hash: the submission's Idempotency-Key and a hash of
-- its body, so a retried submission returns the same job and another body under the same key
-- is refused.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    owner_member_id BIGINT NOT NULL REFERENCES memberships (id),
    file_id BIGINT NOT NULL REFERENCES files (id),
    target_kind TEXT NOT NULL,
    target_id BIGINT,
    printer_id BIGINT REFERENCES printers (id),
    state TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    copies INTEGER NOT NULL DEFAULT 1,
    note TEXT NOT NULL DEFAULT '',
    reason TEXT,
    queue_position BIGINT NOT NULL,
    reprint_of BIGINT REFERENCES jobs (id),
    idempotency_key TEXT,
    request_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (org_id, owner_member_id, idempotency_key);
-- The queue (first page, in order) stays an index range however long the history grows.
CREATE INDEX jobs_queue ON jobs (org_id, priority DESC, queue_position, id)
    WHERE state IN ('pending_approval', 'sent_back', 'queued', 'assigned', 'printing', 'paused');
CREATE INDEX jobs_history ON jobs (org_id, finished_at DESC, id DESC)
    WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_owner ON jobs (org_id, owner_member_id, id);
-- A new job goes to the end of the line: MAX(queue_position) is one index probe.
CREATE INDEX jobs_position ON jobs (org_id, queue_position);
CREATE INDEX jobs_file ON jobs (file_id);

-- value: JSON (a string, a list of strings or a number).
CREATE TABLE job_answers (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    question_id BIGINT NOT NULL REFERENCES submission_questions (id),
    value TEXT NOT NULL,
    PRIMARY KEY (job_id, question_id)
);

-- step: submitted | answered | approved | rejected | sent_back | resubmitted | edited | moved |
-- reordered | cancelled | revived | reprinted | assigned | started | paused | resumed |
-- completed | failed | bed_cleared | charged. actor_member_id NULL: Farmhand itself.
-- detail: JSON of what changed.
CREATE TABLE job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id BIGINT NOT NULL REFERENCES organizations (id),
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor_member_id BIGINT REFERENCES memberships (id),
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX job_events_job ON job_events (job_id, id);
