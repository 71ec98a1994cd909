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
# OWASP "CSV Injection": a cell starting with one of these is read as a formula (or, for tab,
# CR and LF, can push a formula to the start of a cell once a spreadsheet trims them).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


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
    """``value`` as a cell no spreadsheet runs as a formula (OWASP CSV injection guidance).

    NUL characters are removed wherever they are: no one types them, and readers differ on
    them (some end the cell there, some drop them), so ``"\\0=cmd"`` could otherwise reach
    a spreadsheet as ``=cmd`` past the check below.
    Then a text starting with ``= + - @``, tab, CR or LF gets a leading ``'``, which
    spreadsheets show as text and do not evaluate. Other types are returned unchanged.
    """
    if not isinstance(value, str):
        return value
    text = value.replace("\0", "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def safe_csv_writer(buffer: io.StringIO) -> Any:
    """A CSV writer that quotes every cell, as OWASP advises.

    A separator inside a cell (a ``;`` where that is the locale's list separator) then never
    starts a new cell, whose text would escape :func:`spreadsheet_safe`.
    """
    return csv.writer(buffer, quoting=csv.QUOTE_ALL)


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes of ``frame``, every cell quoted and made safe with :func:`spreadsheet_safe`."""
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)
    writer.writerow([spreadsheet_safe(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if pd.isna(v) else spreadsheet_safe(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def export_audit_csv(session: Session, *, actor: str) -> bytes:
    """The whole audit trail as CSV; the export itself is audited."""
    frame = audit_frame(session, limit=None)
    record(session, actor=actor, action="audit.exported", detail={"rows": len(frame)})
    return frame_to_csv(frame)
