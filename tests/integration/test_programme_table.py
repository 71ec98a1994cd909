"""The programmes page's table: every programme, with the credentials awarded on it."""

from __future__ import annotations

import sqlalchemy as sa

from outcomes.store.engine import session_scope
from outcomes.store.reads import programme_table
from tests import factories


def test_each_programme_counts_its_own_credentials_and_one_without_any_shows_zero(
    engine: sa.Engine,
) -> None:
    with session_scope(engine) as session:
        data = factories.programme(session, "DA-101")
        ux = factories.programme(session, "UX-201")
        for number, email in enumerate(("ana@example.org", "leo@example.org")):
            enrolment = factories.completed_enrolment(
                session, factories.learner(session, email), data
            )
            factories.credential(session, enrolment, external_id=f"urn:uuid:{number}")
        factories.completed_enrolment(session, factories.learner(session, "eva@example.org"), ux)
    with session_scope(engine) as session:
        table = programme_table(session=session)
        scoped = programme_table(session=session, scope={ux.id or 0})
    assert dict(zip(table["code"], table["credentials"], strict=True)) == {"DA-101": 2, "UX-201": 0}
    assert scoped["code"].tolist() == ["UX-201"] and scoped["credentials"].tolist() == [0]
