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


RULES = {
    ("POST", "/api/v1/orgs/{org_id}/printer-models"): _bed_corners_in_order,
    ("PUT", "/api/v1/orgs/{org_id}/printer-models/{model_id}"): _bed_corners_in_order,
    ("POST", "/api/v1/orgs/{org_id}/api-tokens"): _token_expires_in_the_future,
    ("GET", "/api/v1/orgs/{org_id}/audit-events"): _audit_range_is_not_inverted,
    ("GET", "/api/v1/orgs/{org_id}/audit-events/export.csv"): _audit_range_is_not_inverted,
}


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    rule = RULES.get((case.method.upper(), case.operation.path))
    return rule is None or rule(case)
