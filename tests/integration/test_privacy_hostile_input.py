"""Hostile text in every free-text field is stored unchanged (parameterised SQL, no escaping)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes.db import session_scope
from outcomes.models import LearnerIdentity, Response, StaffUser
from outcomes.staff import create_staff_user
from tests import factories

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](http://evil)",
    "'; DROP TABLE learner; --",
    "**bold** _it_ `code` \\ \" ' %s {0}",
]
MEGABYTE = "<b>" + "x" * (1024 * 1024) + "</b>"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_round_trips_unchanged(engine: Engine, payload: str) -> None:
    with session_scope(engine) as session:
        who = factories.learner(session, email="ana@example.org")
        enrolment = factories.completed_enrolment(session, who, factories.programme(session))
        invitation = factories.invitation(session, factories.wave(session), enrolment)
        identity = session.get(LearnerIdentity, who.id)
        assert identity is not None
        identity.given_name, identity.family_name = payload, payload
        session.add(identity)
        staff = create_staff_user(
            session,
            email="bo@example.org",
            role="admin",
            password=None,
            actor="test",
            display_name=payload,
        )
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=1,
                answers={"comments": payload, "long": MEGABYTE},
            )
        )
        ids = (who.id, staff.id, invitation.id)
    with session_scope(engine) as session:
        identity = session.get(LearnerIdentity, ids[0])
        user = session.get(StaffUser, ids[1])
        assert identity is not None and user is not None
        assert identity.given_name == payload and identity.family_name == payload
        assert user.display_name == payload
        response = session.exec(select(Response).where(Response.invitation_id == ids[2])).one()
        assert response.answers == {"comments": payload, "long": MEGABYTE}
        assert len(session.exec(select(LearnerIdentity)).all()) == 1  # DROP TABLE did nothing
