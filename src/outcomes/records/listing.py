"""Listing learners and credentials (``outcomes learners list``, ``outcomes credentials list``).

Learners are listed pseudonymously by default — their reference, language, external ids and
how many credentials they hold. Names and e-mail addresses are shown only when the caller
asks for contact data explicitly, and that listing is audited (it reveals personal data).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from outcomes import audit
from outcomes.store.tables import (
    Credential,
    Learner,
    LearnerExternalId,
    LearnerIdentity,
    Programme,
    table_of,
)


def list_learners(
    session: Session, *, with_contact: bool, actor: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """The learners, oldest first; names and e-mail only ``with_contact`` (audited)."""
    learner, external = table_of(Learner), table_of(LearnerExternalId)
    credential, identity = table_of(Credential), table_of(LearnerIdentity)
    held = (
        sa.select(sa.func.count())
        .where(credential.c.learner_id == learner.c.id)
        .correlate(learner)
        .scalar_subquery()
    )
    columns: list[Any] = [
        learner.c.id,
        learner.c.ref,
        learner.c.preferred_language,
        held.label("credentials"),
    ]
    query = sa.select(*columns).order_by(learner.c.id).where(learner.c.erased_at.is_(None))
    if with_contact:
        query = query.add_columns(
            identity.c.given_name, identity.c.family_name, identity.c.email
        ).outerjoin(identity, identity.c.learner_id == learner.c.id)
    if limit is not None:
        query = query.limit(limit)
    rows = [dict(r._mapping) for r in session.execute(query)]
    ids = [r["id"] for r in rows]
    by_learner: dict[int, list[str]] = {}
    if ids:
        found = session.execute(
            sa.select(external.c.learner_id, external.c.scheme, external.c.value)
            .where(external.c.learner_id.in_(sa.bindparam("ids", expanding=True)))
            .order_by(external.c.id),
            {"ids": ids},
        )
        for learner_id, scheme, value in found:
            by_learner.setdefault(learner_id, []).append(f"{scheme}:{value}")
    for row in rows:
        row["external_ids"] = by_learner.get(row["id"], [])
    if with_contact:
        audit.record(
            session,
            actor=actor,
            action="learners.list_contact",
            object_type="learner",
            detail={"learners": len(rows)},
        )
    return rows


def list_credentials(
    session: Session, *, programme_code: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Credentials with their programme and pseudonymous learner reference, newest first."""
    credential, programme = table_of(Credential), table_of(Programme)
    learner = table_of(Learner)
    query = (
        sa.select(
            credential.c.external_id.label("credential_id"),
            programme.c.code.label("programme_code"),
            learner.c.ref.label("learner_ref"),
            credential.c.issued_on,
            credential.c.grade,
            credential.c.status,
            credential.c.revoked_on,
            credential.c.source,
        )
        .join_from(credential, programme, programme.c.id == credential.c.programme_id)
        .join(learner, learner.c.id == credential.c.learner_id)
        .order_by(credential.c.issued_on.desc(), credential.c.id.desc())
    )
    if programme_code is not None:
        query = query.where(programme.c.code == programme_code)
    if limit is not None:
        query = query.limit(limit)
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r._mapping.items()}
        for r in session.execute(query)
    ]
