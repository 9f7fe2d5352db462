"""Rules of Farmhand's API that its OpenAPI document states in words because JSON Schema
cannot, taught to schemathesis so that what it sends as a *valid* request is one.

Loaded by crates/farmhand/tests/schemathesis.rs through SCHEMATHESIS_HOOKS. Each rule is in
the description of the field it is about; keep the two in step. Only requests generated as
valid are filtered: invalid ones are left alone, and no check is changed.
"""

from datetime import datetime, timedelta, timezone

import schemathesis


def _time(value):
    """An RFC 3339 time as a UTC `datetime`, or None when it is not one (then it is left to the
    server, and to the checks)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc)


def _token_expires_in_the_future(case):
    """`CreateToken.expires_at`: "When the token stops working, in the future"."""
    body = case.body if isinstance(case.body, dict) else {}
    expires = _time(body.get("expires_at"))
    # A minute of margin for the time the request takes to arrive.
    return expires is None or expires > datetime.now(timezone.utc) + timedelta(minutes=1)


def _audit_range_is_not_inverted(case):
    """`AuditQuery.from`: "not after `to`"."""
    query = case.query or {}
    start, end = _time(query.get("from")), _time(query.get("to"))
    return start is None or end is None or start <= end


def _report_range(case):
    """`ReportQuery.from` / `to`: `to` not before `from` and "at most 400 days after `from`";
    `from` defaults to the start of the current month, `to` to its end."""
    query = case.query or {}
    now = datetime.now(timezone.utc)
    start, end = _time(query.get("from")), _time(query.get("to"))
    if (query.get("from") is not None and start is None) or (
        query.get("to") is not None and end is None
    ):
        return True
    # The month starts in the organization's zone: a day of margin either way.
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = start or month - timedelta(days=1)
    end = end or now + timedelta(days=32)
    if query.get("from") is None and query.get("to") is not None and end < month + timedelta(days=1):
        return False
    return start <= end and end - start <= timedelta(days=399)


def _bed_corners_in_order(case):
    """`MotionProfile.bed`: "each `max` at least its `min`"."""
    body = case.body if isinstance(case.body, dict) else {}
    motion = body.get("motion")
    bed = motion.get("bed") if isinstance(motion, dict) else None
    if not isinstance(bed, dict):
        return True
    low, high = bed.get("min"), bed.get("max")
    if not (isinstance(low, list) and isinstance(high, list)):
        return True
    return all(
        not (isinstance(a, (int, float)) and isinstance(b, (int, float))) or a <= b
        for a, b in zip(low, high)
    )


def _given(mapping, key):
    return isinstance(mapping, dict) and mapping.get(key) is not None


def _personal_or_project(case):
    """`FileListQuery.personal`: "not with `project_id`"."""
    query = case.query or {}
    personal = query.get("personal") in (True, "true")
    return not (personal and _given(query, "project_id"))


def _one_target_filter(case):
    """`JobListQuery.group_id`: "at most one of `group_id`, `model_id` and `site_id`"."""
    query = case.query or {}
    return sum(_given(query, k) for k in ("group_id", "model_id", "site_id")) <= 1


FINISHED = ("completed", "failed", "cancelled", "rejected")


def _job_listing(history):
    def rule(case):
        """`JobListQuery.cursor`: "The `next_cursor` of the previous page of the same
        listing", which a generator cannot make up, so a valid request starts from the first
        page; `JobListQuery.state`: "a finished state for the history, another for the
        queue"; and the rule of `_one_target_filter`."""
        query = dict(case.query or {})
        state = query.get("state")
        state_fits = state is None or (state in FINISHED) == history
        return not _given(query, "cursor") and state_fits and _one_target_filter(case)

    return rule


def _reservation_window(case):
    """`ReservePrinter`: "exactly one of a member and a workgroup, from `starts_at` to
    `ends_at` (after `starts_at`, in the future, at most 90 days later)"."""
    body = case.body if isinstance(case.body, dict) else {}
    start, end = _time(body.get("starts_at")), _time(body.get("ends_at"))
    if start is None or end is None:
        return _member_or_workgroup(case)
    in_future = end > datetime.now(timezone.utc) + timedelta(minutes=1)
    window_fits = start < end <= start + timedelta(days=90)
    return in_future and window_fits and _member_or_workgroup(case)


def _member_or_workgroup(case):
    """`ShareProject`: "exactly one of them"."""
    body = case.body if isinstance(case.body, dict) else {}
    return sum(_given(body, k) for k in ("member_id", "workgroup_id")) == 1


def _choices_match_kind(case):
    """`QuestionInput.choices`: "For `choice` and `multi_choice`: 1 to 50 choices; none for
    the others"."""
    body = case.body if isinstance(case.body, dict) else {}
    choices = body.get("choices", [])
    if not isinstance(choices, list):
        return True
    if body.get("kind") in ("choice", "multi_choice"):
        return len(choices) >= 1
    return len(choices) == 0


RULES = {
    ("POST", "/api/v1/orgs/{org_id}/printer-models"): _bed_corners_in_order,
    ("PUT", "/api/v1/orgs/{org_id}/printer-models/{model_id}"): _bed_corners_in_order,
    ("POST", "/api/v1/orgs/{org_id}/api-tokens"): _token_expires_in_the_future,
    ("GET", "/api/v1/orgs/{org_id}/audit-events"): _audit_range_is_not_inverted,
    ("GET", "/api/v1/orgs/{org_id}/audit-events/export.csv"): _audit_range_is_not_inverted,
    ("GET", "/api/v1/orgs/{org_id}/files"): _personal_or_project,
    ("GET", "/api/v1/orgs/{org_id}/jobs"): _job_listing(history=False),
    ("GET", "/api/v1/orgs/{org_id}/jobs/history"): _job_listing(history=True),
    ("GET", "/api/v1/orgs/{org_id}/jobs/history/export.csv"): _job_listing(history=True),
    ("PUT", "/api/v1/orgs/{org_id}/projects/{project_id}/shares"): _member_or_workgroup,
    ("POST", "/api/v1/orgs/{org_id}/printers/{printer_id}/reservations"): _reservation_window,
    ("POST", "/api/v1/orgs/{org_id}/submission-questions"): _choices_match_kind,
    ("PUT", "/api/v1/orgs/{org_id}/submission-questions/{question_id}"): _choices_match_kind,
    ("GET", "/api/v1/orgs/{org_id}/reports/usage"): _report_range,
    ("GET", "/api/v1/orgs/{org_id}/reports/usage.csv"): _report_range,
}


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    rule = RULES.get((case.method.upper(), case.operation.path))
    return rule is None or rule(case)
