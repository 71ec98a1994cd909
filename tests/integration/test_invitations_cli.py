"""``outcomes invitations``: staff see where invitations stand and reissue a link."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from outcomes.config import get_settings
from outcomes.errors import NotFound, ValidationProblem
from outcomes.store.engine import session_scope
from outcomes.store.tables import AuditEvent, Invitation, utcnow
from outcomes.web.survey.routes import SurveyRoutes
from tests import factories


def _invite(engine: Engine, **kw: object) -> tuple[int, str]:
    with session_scope(engine) as session:
        return factories.open_survey(session, get_settings(), at=utcnow(), **kw)  # type: ignore[arg-type]


def test_invitations_are_listed_with_their_state_and_no_personal_data(
    app_engine: Engine,
) -> None:
    from outcomes.cli.main import app

    first, _ = _invite(app_engine)
    second, _ = _invite(app_engine, email="luis@example.org")
    with session_scope(app_engine) as session:
        invitation = session.get(Invitation, second)
        assert invitation is not None
        invitation.opted_out_at = utcnow()
        session.add(invitation)
    result = CliRunner().invoke(app, ["invitations", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["id"], r["status"]) for r in rows] == [(first, "sent"), (second, "opted_out")]
    assert "example.org" not in result.output and "token" not in result.output
    only = CliRunner().invoke(app, ["invitations", "list", "--status", "opted_out", "--json"])
    assert [row["id"] for row in json.loads(only.output)] == [second]
    table = CliRunner().invoke(app, ["invitations", "list"])
    assert table.exit_code == 0 and "opted_out" in table.output


def test_an_unknown_status_or_wave_is_one_plain_sentence(app_engine: Engine) -> None:
    from outcomes.cli.main import app

    # (the console script prints these after "Error: "; see test_cli.py)
    result = CliRunner().invoke(app, ["invitations", "list", "--status", "lost"])
    assert isinstance(result.exception, ValidationProblem)
    assert str(result.exception).startswith("Unknown invitation status lost: use not_sent")
    result = CliRunner().invoke(app, ["invitations", "list", "--wave", "999"])
    assert isinstance(result.exception, NotFound)
    assert str(result.exception) == "No survey wave with id 999."


def test_a_reissued_link_opens_the_survey_and_the_old_one_stops(app_engine: Engine) -> None:
    from outcomes.cli.main import app

    invitation_id, old_token = _invite(app_engine)
    result = CliRunner().invoke(app, ["invitations", "reissue", str(invitation_id), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["url"].startswith("http://localhost:8501/s/")
    token = payload["url"].rsplit("/", 1)[1]
    assert len(token) == 43 and token != old_token
    routes = SurveyRoutes(get_settings(), app_engine).routes()
    client = TestClient(Starlette(routes=routes), follow_redirects=False)
    assert client.get(f"/s/{token}").status_code == 303
    assert client.get(f"/s/{old_token}").status_code == 404
    with Session(app_engine) as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "invitation.reissued")
        ).one()
        invitation = session.get(Invitation, invitation_id)
    assert event.actor.startswith("cli:") and event.object_id == str(invitation_id)
    assert invitation is not None
    assert invitation.expires_at > utcnow() + dt.timedelta(days=59)


def test_reissuing_an_unknown_invitation_says_so(app_engine: Engine) -> None:
    from outcomes.cli.main import app

    result = CliRunner().invoke(app, ["invitations", "reissue", "424242"])
    assert isinstance(result.exception, NotFound)
    assert str(result.exception) == "No invitation with id 424242."
