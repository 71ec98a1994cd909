"""The audit trail: append-only events of who did what to which object.

Events never carry personal data (no names, e-mails, answers): only ids, actions and
counts; an unknown e-mail is recorded as a purpose-labelled HMAC (``Purpose.AUDIT_HASH``,
``auth.audit_hash``), never as a digest keyed with the secret key itself.
There is no update or delete path in the application, and the database refuses one: on
PostgreSQL a trigger (initial migration) refuses UPDATE, DELETE and TRUNCATE and the app's
runtime role may only INSERT and SELECT; on SQLite triggers (migration 0004) abort UPDATE and
DELETE. Each event is chained to the one before by a hash (``outcomes.audit_chain``), which
``outcomes audit verify`` checks.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Collection
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes import audit_chain
from outcomes.store.tables import AuditEvent

AUDIT_COLUMNS = ("id", "occurred_at", "actor", "action", "object_type", "object_id", "detail")
# OWASP "CSV Injection": a cell starting with one of these is read as a formula (or, for tab,
# CR and LF, can push a formula to the start of a cell once a spreadsheet trims them).


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


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the trail in the caller's unit of work, chained to the last one.

    ``prev_hash`` is the chain hash of the event before (the last one stored, or the last
    one recorded earlier in this unit of work) and ``chain_hash`` is
    ``SHA-256(prev_hash || canonical form)`` (``outcomes.audit_chain``). On PostgreSQL a
    transaction-scoped advisory lock, taken before the last hash is read and held until
    commit, keeps concurrent writers in id order; SQLite transactions begin IMMEDIATE, so
    there is one writer at a time already. Record an action after the writes it describes:
    the lock serialises audited units of work from here to their commit.
    """
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    event.prev_hash = _last_chain_hash(session)
    event.chain_hash = audit_chain.link_hash(
        event.prev_hash, audit_chain.canonical_form(_fields(event))
    )
    session.info[_CHAIN_KEY] = (session.get_transaction(), event.chain_hash)
    session.add(event)
    return event


# Held by the transaction that appends to the trail (an arbitrary constant: "outcomes").
CHAIN_LOCK_KEY = int.from_bytes(b"outcomes", "big")
_CHAIN_KEY = "outcomes.audit.chain_head"


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in audit_chain.CANONICAL_FIELDS}


def _last_chain_hash(session: Session) -> str:
    """The chain hash the next event links to, taking the chain lock on PostgreSQL."""
    cached = session.info.get(_CHAIN_KEY)
    if cached is not None and cached[0] is session.get_transaction():
        # An event recorded earlier in this transaction, maybe unflushed. (A savepoint rolled
        # back after a record would leave this pointing at a dropped event; none is used.)
        return str(cached[1])
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
        last = session.execute(
            sa.select(col(AuditEvent.chain_hash)).order_by(col(AuditEvent.id).desc()).limit(1)
        ).scalar_one_or_none()
    return last or audit_chain.GENESIS_HASH


def verify_trail(session: Session) -> audit_chain.ChainReport:
    """Walk the whole trail in id order and report its first broken link, if any."""
    columns = [getattr(AuditEvent, name) for name in ("id", *audit_chain.CANONICAL_FIELDS)]
    statement = (
        sa.select(*columns, col(AuditEvent.prev_hash), col(AuditEvent.chain_hash))
        .order_by(col(AuditEvent.id))
        .execution_options(yield_per=2000)
    )
    return audit_chain.verify_chain(session.execute(statement).mappings())


def audit_frame(
    session: Session,
    *,
    limit: int | None = 1000,
    action: str | None = None,
    hide_object_ids_of: Collection[str] = (),
) -> pd.DataFrame:
    """The newest audit events, newest first (optionally one action only).

    Events whose ``object_type`` is in ``hide_object_ids_of`` come with a blank object id,
    blanked in the query so that the value never leaves the database; who sees what is
    ``outcomes.access.audit_view``'s concern.
    """
    columns: list[Any] = [getattr(AuditEvent, name) for name in AUDIT_COLUMNS]
    if hide_object_ids_of:
        hidden = col(AuditEvent.object_type).in_(sorted(hide_object_ids_of))
        blanked = sa.case((hidden, sa.null()), else_=col(AuditEvent.object_id))
        columns[AUDIT_COLUMNS.index("object_id")] = blanked.label("object_id")
    statement = sa.select(*columns).order_by(col(AuditEvent.id).desc())
    if action:
        statement = statement.where(col(AuditEvent.action) == action)
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).fetchall()
    frame = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    frame["detail"] = [json.dumps(d, sort_keys=True) if d else "" for d in frame["detail"]]
    return frame
