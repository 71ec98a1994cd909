"""Hostile text in every free-text field is stored unchanged (parameterised SQL, no escaping)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from outcomes.access.staff import create_staff_user
from outcomes.privacy import rights as privacy
from outcomes.store.engine import session_scope
from outcomes.store.tables import LearnerExternalId, LearnerIdentity, Response, StaffUser
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


FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "\n=1",
    "a;=1+2",
]
DANGEROUS_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _csv_cells(content: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    return [cell for row in rows for cell in row]


@pytest.mark.parametrize("payload", FORMULAS)
def test_privacy_export_csvs_never_start_a_cell_with_a_formula(
    engine: Engine, payload: str
) -> None:
    with session_scope(engine) as session:
        who = factories.learner(session, email=payload)
        session.add(LearnerExternalId(learner_id=who.id, scheme="sis", value=payload))
        enrolment = factories.completed_enrolment(session, who, factories.programme(session))
        factories.credential(session, enrolment, external_id=payload)
        invitation = factories.invitation(session, factories.wave(session), enrolment)
        identity = session.get(LearnerIdentity, who.id)
        assert identity is not None
        identity.given_name = identity.family_name = payload
        session.add(identity)
        session.add(
            Response(
                invitation_id=invitation.id,
                instrument_version_id=1,
                answers={"comments": payload},
            )
        )
        ref = who.ref
    with session_scope(engine) as session:
        record = privacy.lookup(session, key=ref, actor="cli:test", purpose="exported")
    files = privacy.export_files(record)
    cells = [c for name, data in files.items() if name.endswith(".csv") for c in _csv_cells(data)]
    assert any(payload in cell for cell in cells), "the hostile value is exported"
    assert not [c for c in cells if c.startswith(DANGEROUS_STARTS)]
    assert json.loads(files["learner.json"])["identity"][0]["given_name"] == payload


def test_nul_characters_never_reach_a_privacy_export_csv() -> None:
    # PostgreSQL refuses NUL in text, so the record is built directly (SQLite stores it).
    record = privacy.LearnerRecord(
        1, {"identity": [{"given_name": "\0=1+2", "family_name": "Ru\0iz", "email": "a@b"}]}
    )
    cells = _csv_cells(privacy.export_files(record)["identity.csv"])
    assert "'=1+2" in cells and "Ruiz" in cells
    assert not any("\0" in cell for cell in cells)
