"""Audit integrity: chain the existing events, and make the trail append-only on SQLite too.

The events written before this revision get their ``prev_hash`` / ``chain_hash`` in id order,
by the same definition ``outcomes.audit.record`` uses from now on (``outcomes.audit_chain``).
Then SQLite gets triggers that abort any UPDATE or DELETE of an audit event, as PostgreSQL's
statement trigger (0001) already does; on PostgreSQL that trigger is disabled for the
backfill and enabled again, inside this migration's transaction.

A later migration that rebuilds ``audit_event`` on SQLite (``batch_alter_table`` copies the
table) drops these triggers with the old table and must create them again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outcomes.store.tables
from outcomes import audit_chain

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}
_BATCH = 5000

_events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", outcomes.store.tables.UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("object_type", sa.String()),
    sa.column("object_id", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("prev_hash", sa.String()),
    sa.column("chain_hash", sa.String()),
)


def _chain_existing_events(bind: sa.Connection) -> None:
    fields = [_events.c[name] for name in ("id", *audit_chain.CANONICAL_FIELDS)]
    update = (
        sa.update(_events)
        .where(_events.c.id == sa.bindparam("event_id"))
        .values(prev_hash=sa.bindparam("prev"), chain_hash=sa.bindparam("chain"))
    )
    prev, after = audit_chain.GENESIS_HASH, 0
    while True:
        rows = bind.execute(
            sa.select(*fields).where(_events.c.id > after).order_by(_events.c.id).limit(_BATCH)
        ).mappings()
        links = []
        for row in rows:
            chain = audit_chain.link_hash(prev, audit_chain.canonical_form(row))
            links.append({"event_id": row["id"], "prev": prev, "chain": chain})
            prev, after = chain, row["id"]
        if not links:
            return
        bind.execute(update, links)


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    _chain_existing_events(bind)
    if postgresql:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        return
    for name, event in SQLITE_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {event} ON audit_event "
            f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {event} refused'); END"
        )


def downgrade() -> None:
    # The chain hashes stay: 0003's downgrade drops their columns.
    if op.get_bind().dialect.name != "postgresql":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
