"""The Audit trail page shows each role the trail as that role may see it."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from outcomes.access.auth import UNKNOWN_EMAIL
from outcomes.access.sessions import StaffSession
from outcomes.access.staff import create_staff_user
from outcomes.store.engine import session_scope
from tests import factories
from tests.conftest import REPO_ROOT

DIGEST = "9f" * 32


@pytest.fixture
def trail(app_engine: Engine) -> dict[str, StaffSession]:
    """An administrator and a reviewer, signed in, and an unknown e-mail's failed sign-in."""
    engine = app_engine
    with session_scope(engine) as session:
        factories.unknown_email_failure(session, DIGEST)
        # Single sign-on accounts: the second factor is the identity provider's.
        users = [
            create_staff_user(session, email=f"{r}@example.org", role=r, password=None, actor="t")
            for r in ("admin", "reviewer")
        ]
        viewers = {u.role: factories.signed_in(session, u.id or 0, via="sso") for u in users}
    engine.dispose()
    return viewers


def audit_page(viewer: StaffSession) -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30)
    at.session_state["staff"] = viewer
    at.run()
    at.switch_page("pages/audit.py")
    at.run()
    assert not at.exception and not at.error
    return at


def export(at: AppTest) -> str:
    """The CSV the page prepares for download."""
    [prepare] = [b for b in at.button if b.label == "Prepare CSV export"]
    prepare.click().run()
    return str(at.session_state["audit_csv"].decode())


def shown_digests(at: AppTest) -> list[object]:
    table: pd.DataFrame = at.dataframe[0].value
    return list(table.loc[table["object_type"] == UNKNOWN_EMAIL, "object_id"])


def test_a_reviewer_sees_the_failed_sign_in_but_not_the_digest_of_the_typed_email(
    trail: dict[str, StaffSession],
) -> None:
    at = audit_page(trail["reviewer"])
    [shown] = shown_digests(at)
    assert pd.isna(shown)
    csv_text = export(at)
    assert "signin.failed" in csv_text and DIGEST not in csv_text


def test_an_administrator_sees_the_digest_to_link_repeated_attempts(
    trail: dict[str, StaffSession],
) -> None:
    at = audit_page(trail["admin"])
    assert shown_digests(at) == [DIGEST]
    assert DIGEST in export(at)
