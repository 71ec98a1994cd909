"""The audit trail: append-only events of who did what to which object.

Events never carry personal data (no names, e-mails, answers): only ids, actions and
counts. There is no update or delete path in the application; on PostgreSQL a trigger
(see the initial migration) refuses UPDATE, DELETE and TRUNCATE on the table itself.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from sqlmodel import Session

from outcomes.models import AuditEvent


def cli_actor() -> str:
    """The actor name for command-line operations: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        user = os.environ.get("USER", "unknown")
    return f"cli:{user}"


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
