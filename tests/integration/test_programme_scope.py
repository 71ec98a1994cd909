"""Programme scope: a manager sees their programmes' records only, and nothing when unassigned."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from outcomes.access.staff import (
    assigned_scope,
    create_staff_user,
    programme_scope,
    set_programme_scope,
    staff_frame,
    viewer_scope,
)
from outcomes.demo import generate_demo
from outcomes.errors import AccessDenied, ValidationProblem
from outcomes.store.engine import session_scope
from outcomes.store.reads import overview_counts
from outcomes.store.tables import AuditEvent, Programme
from tests import factories

# The same counts written out independently, in plain SQL, for one programme.
BY_HAND = {
    "programmes": "SELECT count(*) FROM programme WHERE id = :p",
    "learners": "SELECT count(DISTINCT learner_id) FROM enrolment WHERE programme_id = :p",
    "enrolments": "SELECT count(*) FROM enrolment WHERE programme_id = :p",
    "credentials": "SELECT count(*) FROM credential WHERE programme_id = :p",
    "invitations sent": (
        "SELECT count(*) FROM invitation i JOIN enrolment e ON e.id = i.enrolment_id "
        "WHERE e.programme_id = :p AND i.sent_at IS NOT NULL"
    ),
    "responses": (
        "SELECT count(*) FROM response r JOIN invitation i ON i.id = r.invitation_id "
        "JOIN enrolment e ON e.id = i.enrolment_id WHERE e.programme_id = :p"
    ),
    "outcomes": (
        "SELECT count(*) FROM outcome o JOIN enrolment e ON e.id = o.enrolment_id "
        "WHERE e.programme_id = :p"
    ),
}


def test_a_manager_scoped_to_one_programme_sees_that_programmes_overview_counts(
    engine: sa.Engine,
) -> None:
    generate_demo(engine, learners=120, seed=7)
    with session_scope(engine) as session:
        cyber = session.exec(select(Programme).where(Programme.code == "MC-CYBER")).one()
        manager = create_staff_user(
            session,
            email="cyber@example.org",
            role="manager",
            password=None,
            actor="test",
            programme_codes=["MC-CYBER"],
        )
        scope = viewer_scope(session, "manager", manager.id)
        scoped = overview_counts(session=session, scope=scope)
        institution = overview_counts(session=session, scope=None)
        expected = {
            name: session.execute(sa.text(sql), {"p": cyber.id}).scalar_one()
            for name, sql in BY_HAND.items()
        }
    assert scope == {cyber.id}
    for name, count in expected.items():
        assert scoped[name] == count, name
    assert scoped["learners"] < institution["learners"]
    assert scoped["credentials"] < institution["credentials"]
    assert 0 < scoped["responses"] < institution["responses"]
    assert 1 <= scoped["survey waves"] <= institution["survey waves"]


def test_a_manager_with_no_programmes_and_no_flag_sees_nothing(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        factories.programme(session, "DA-101")
        gone = factories.programme(session, "UX-201")
        unassigned = create_staff_user(
            session, email="new@example.org", role="manager", password=None, actor="test"
        )
        orphaned = create_staff_user(
            session,
            email="ux@example.org",
            role="manager",
            password=None,
            actor="test",
            programme_codes=["UX-201"],
        )
        everything = create_staff_user(
            session,
            email="all@example.org",
            role="manager",
            password=None,
            actor="test",
            all_programmes=True,
        )
        assert programme_scope(session, orphaned.id or 0) == {gone.id}
        session.delete(gone)  # its scope rows cascade away with it
        session.flush()
        assert programme_scope(session, unassigned.id or 0) == set()
        assert programme_scope(session, orphaned.id or 0) == set()
        assert programme_scope(session, everything.id or 0) is None
        assert overview_counts(session=session, scope=set())["programmes"] == 0
        with pytest.raises(AccessDenied, match="not assigned to any programme"):
            assigned_scope(session, "manager", orphaned.id)
        assert viewer_scope(session, "manager", None) == set()
        assert viewer_scope(session, "account_setup", unassigned.id) == set()
        table = staff_frame(session).set_index("email")
    assert table.loc["new@example.org", "programmes"] == "none"
    assert table.loc["all@example.org", "programmes"] == "all"


def test_scope_is_either_all_programmes_or_named_ones_and_every_change_is_audited(
    engine: sa.Engine,
) -> None:
    with session_scope(engine) as session:
        programme = factories.programme(session, "DA-101")
        user = create_staff_user(
            session, email="m@example.org", role="manager", password=None, actor="test"
        )
        user_id = user.id or 0
        with pytest.raises(ValidationProblem, match="either all programmes or named"):
            set_programme_scope(
                session,
                user_id=user_id,
                programme_codes=["DA-101"],
                all_programmes=True,
                actor="staff:1",
            )
        set_programme_scope(
            session, user_id=user_id, programme_codes=[], all_programmes=True, actor="staff:1"
        )
        assert programme_scope(session, user_id) is None
        set_programme_scope(session, user_id=user_id, programme_codes=["DA-101"], actor="staff:1")
        assert programme_scope(session, user_id) == {programme.id}
        set_programme_scope(session, user_id=user_id, programme_codes=[], actor="staff:1")
        assert programme_scope(session, user_id) == set()
        details = [
            event.detail
            for event in session.exec(
                select(AuditEvent).where(AuditEvent.action == "staff.scope_changed")
            )
        ]
    assert details == [
        {"programmes": [], "all_programmes": True},
        {"programmes": [programme.id], "all_programmes": False},
        {"programmes": [], "all_programmes": False},
    ]
