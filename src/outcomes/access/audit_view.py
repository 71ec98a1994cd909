"""The audit trail as a staff role sees it: the Audit trail page and its CSV export.

Administrators see every event in full. Reviewers (read-only auditors) see every event, but
not the object id of events about an unknown e-mail address (failed and refused sign-ins):
that id is a keyed digest of whatever was typed in the e-mail field, anonymous input that a
reviewer needs no digest of. Administrators keep it: it links repeated attempts at one
address (a password spray, a mistyped address), and it is a labelled HMAC under the audit
subkey (``outcomes.keys``), which keys nothing else.
"""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session

from outcomes import audit
from outcomes.access import permissions
from outcomes.access.auth import UNKNOWN_EMAIL
from outcomes.errors import AccessDenied
from outcomes.exports import frame_to_csv

# Object types whose object ids only the roles with "audit.unknown_email_digests" see.
ADMIN_ONLY_OBJECT_IDS = frozenset({UNKNOWN_EMAIL})


def hidden_object_ids(role: str) -> frozenset[str]:
    """The object types whose ids ``role`` does not see (every role but admin: fail closed)."""
    if permissions.can(role, "audit.unknown_email_digests"):
        return frozenset()
    return ADMIN_ONLY_OBJECT_IDS


def audit_trail(
    session: Session, *, role: str, action: str | None = None, limit: int | None = 1000
) -> pd.DataFrame:
    """The newest audit events, newest first, as ``role`` may see them."""
    if not permissions.can(role, "audit.read"):
        raise AccessDenied("Only administrators and reviewers can read the audit trail.")
    return audit.audit_frame(
        session, limit=limit, action=action, hide_object_ids_of=hidden_object_ids(role)
    )


def export_audit_csv(session: Session, *, role: str, actor: str) -> bytes:
    """The whole audit trail as ``role`` may see it, as formula-safe CSV; audited."""
    frame = audit_trail(session, role=role, limit=None)
    audit.record(session, actor=actor, action="audit.exported", detail={"rows": len(frame)})
    return frame_to_csv(frame)
