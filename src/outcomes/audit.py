"""The audit trail: append-only events of who did what to which object.

Events never carry personal data (no names, e-mails, answers): only ids, actions and
counts; an unknown e-mail is recorded as a keyed hash (HMAC-SHA256 with the secret key).
There is no update or delete path in the application; on PostgreSQL a trigger (see the
initial migration) refuses UPDATE, DELETE and TRUNCATE on the table itself.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import hmac
import io
import json
import os
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.models import AuditEvent

AUDIT_COLUMNS = ("id", "occurred_at", "actor", "action", "object_type", "object_id", "detail")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cli_actor() -> str:
    """The actor name for command-line operations: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        user = os.environ.get("USER", "unknown")
    return f"cli:{user}"


def staff_actor(user_id: int | None) -> str:
    """The actor name for a signed-in staff member."""
    return f"staff:{user_id}"


def keyed_hash(value: str, secret_key: str) -> str:
    """HMAC-SHA256 of ``value`` (hex): links repeated events without storing the value."""
    return hmac.new(secret_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the trail in the caller's unit of work."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(event)
    return event


def audit_frame(
    session: Session, *, limit: int | None = 1000, action: str | None = None
) -> pd.DataFrame:
    """The newest audit events, newest first (optionally one action only)."""
    statement = sa.select(*(getattr(AuditEvent, name) for name in AUDIT_COLUMNS)).order_by(
        col(AuditEvent.id).desc()
    )
    if action:
        statement = statement.where(col(AuditEvent.action) == action)
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).fetchall()
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["detail"] = [json.dumps(d, sort_keys=True) if d else "" for d in frame["detail"]]
    return frame


def spreadsheet_safe(value: object) -> object:
    """``value`` with a leading ' when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame`` with cells that could run as formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow(["" if pd.isna(v) else spreadsheet_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def export_audit_csv(session: Session, *, actor: str) -> bytes:
    """The whole audit trail as CSV; the export itself is audited."""
    frame = audit_frame(session, limit=None)
    record(session, actor=actor, action="audit.exported", detail={"rows": len(frame)})
    return frame_to_csv(frame)
