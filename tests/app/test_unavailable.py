"""A database that is down shows anonymous visitors a sentence without its host name."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from outcomes.web.unavailable import UNAVAILABLE
from tests.conftest import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
UNREACHABLE = "postgresql+psycopg://u@db-secret-host.invalid/x"


def rendered_text(at: AppTest) -> str:
    """Every string the page shows, whatever the element."""
    return "\n".join(str(getattr(node, "value", "")) for node in at.main)


def test_an_unreachable_database_is_explained_without_its_host(
    outcomes_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", UNREACHABLE)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert [e.value for e in at.error] == [UNAVAILABLE]
    assert UNAVAILABLE in rendered_text(at)
    assert "db-secret-host" not in rendered_text(at)
    assert "db-secret-host" in caplog.text, "the operator finds the full sentence in the log"


def test_a_malformed_setting_is_explained_without_its_value(
    outcomes_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTCOMES_DATABASE_URL", "mysql://u@db-secret-host.invalid/x")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert len(at.error) == 1
    assert "db-secret-host" not in rendered_text(at)


def _page_meeting_a_database_that_went_down() -> None:
    from outcomes.errors import DatabaseError
    from outcomes.web.context import show_error

    show_error(
        DatabaseError(
            "The database at postgresql+psycopg://u@db-secret-host.invalid/x could not be "
            "reached (connection refused)."
        )
    )


def test_a_page_that_meets_a_database_error_later_shows_no_host() -> None:
    at = AppTest.from_function(_page_meeting_a_database_that_went_down).run()
    assert [e.value for e in at.error] == [UNAVAILABLE]


def _page_meeting_a_domain_error() -> None:
    from outcomes.errors import ValidationProblem
    from outcomes.web.context import show_error

    show_error(ValidationProblem("Row 3: the e-mail 'x' is not an e-mail address."))


def test_other_domain_errors_are_still_shown_as_their_own_sentence() -> None:
    at = AppTest.from_function(_page_meeting_a_domain_error).run()
    assert [e.value for e in at.error] == ["Row 3: the e-mail 'x' is not an e-mail address."]
