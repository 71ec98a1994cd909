"""The graduate's survey through its HTTP routes (Starlette's TestClient, no browser)."""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from outcomes.config import Settings
from outcomes.fieldwork.invitations import reissue
from outcomes.store.engine import session_scope
from outcomes.store.tables import (
    AuditEvent,
    Invitation,
    LearnerIdentity,
    Outcome,
    Response,
    ResponseRevision,
    SurveyWave,
)
from outcomes.web.server import middleware
from outcomes.web.survey.routes import SurveyRoutes
from tests import factories

NOW = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """A settable clock for the routes."""

    def __init__(self, at: dt.datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="s" * 40)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(engine: Engine, settings: Settings, clock: Clock) -> Starlette:
    return Starlette(
        routes=SurveyRoutes(settings, engine, clock=clock).routes(),
        middleware=middleware(settings),
    )


class Graduate:
    """One browser: follows the survey's pages and keeps its cookie."""

    def __init__(self, app: Starlette) -> None:
        self.client = TestClient(app, base_url="http://localhost", follow_redirects=False)
        self.page = ""

    def get(self, path: str, **kw: Any) -> Any:
        reply = self.client.get(path, **kw)
        while reply.status_code in (302, 303):
            reply = self.client.get(reply.headers["location"])
        self.page = reply.text
        return reply

    def open(self, token: str) -> Any:
        return self.get(f"/s/{token}")

    def csrf(self) -> str:
        found = CSRF.search(self.page)
        assert found, "the page carries a form token"
        return found.group(1)

    def post(self, path: str, data: dict[str, Any], *, csrf: str | None = None) -> Any:
        fields = {"csrf": csrf if csrf is not None else self.csrf(), **data}
        reply = self.client.post(path, data=fields)
        if reply.status_code in (302, 303):
            return self.get(reply.headers["location"])
        self.page = reply.text
        return reply

    def start(self) -> Any:
        return self.post("/survey/start", {"action": "start"})

    def section(self, section_id: str, **answers: Any) -> Any:
        return self.post(f"/survey/section/{section_id}", {"nav": "next", **answers})


@pytest.fixture
def invited(engine: Engine, settings: Settings) -> tuple[int, str]:
    with session_scope(engine) as session:
        return factories.open_survey(session, settings, at=NOW)


EMPLOYED_JOB = {
    "hours": "38",
    "pay.amount": "2400",
    "pay.currency": "EUR",
    "pay.period": "monthly",
    "employer": "Acme",
    "job_title": "Analyst",
    "occupation": "2",
    "industry": "J",
    "had_job_before": "no",
    "months_to_job": "2",
    "related": "4",
}
VOICE = {"voice_meaningful": "4", "voice_future": "5", "voice_skills": "3"}
COURSE = {"satisfaction": "5", "recommend": "9", "comments": "Good course."}


def answer_all(graduate: Graduate) -> None:
    graduate.section("activity", activity="employed")
    graduate.section("job", **EMPLOYED_JOB)
    graduate.section("voice", **VOICE)
    graduate.section("course", **COURSE)


def _invitation(engine: Engine, invitation_id: int) -> Invitation:
    with Session(engine) as session:
        found = session.get(Invitation, invitation_id)
    assert found is not None
    return found


def _opt_out_via(engine: Engine) -> object:
    with Session(engine) as session:
        return session.exec(
            select(AuditEvent.detail).where(AuditEvent.action == "survey.opted_out")
        ).one()


def _response(engine: Engine, invitation_id: int) -> Response | None:
    with Session(engine) as session:
        return session.exec(select(Response).where(Response.invitation_id == invitation_id)).first()


# --- the personal link ----------------------------------------------------------------------


def test_the_link_is_exchanged_for_a_session_cookie_and_leaves_the_address_bar(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    _, token = invited
    client = TestClient(app, base_url="http://localhost", follow_redirects=False)
    reply = client.get(f"/s/{token}")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/survey"
    assert token not in reply.headers["location"]
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["cache-control"] == "no-store"
    page = client.get("/survey")
    assert page.status_code == 200
    assert "Six months on" in page.text and "Data Analytics" in page.text
    assert "1 July 2024" in page.text, "the credential that put them in the wave is named"
    with Session(engine) as session:
        invitation = session.get(Invitation, invited[0])
        assert invitation is not None and invitation.opened_at is not None


def test_over_https_the_cookie_is_secure(
    engine: Engine, database_url: str, invited: tuple[int, str]
) -> None:
    settings = Settings(
        database_url=database_url, secret_key="s" * 40, public_base_url="https://uni.example"
    )
    app = Starlette(routes=SurveyRoutes(settings, engine, clock=Clock()).routes())
    client = TestClient(app, base_url="https://uni.example", follow_redirects=False)
    reply = client.get(f"/s/{invited[1]}")
    assert reply.status_code == 303 and "Secure" in reply.headers["set-cookie"]


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 43 + "%3Cscript%3E"])
def test_an_unknown_link_gets_a_friendly_page_that_reveals_nothing(
    app: Starlette, token: str, invited: tuple[int, str]
) -> None:
    reply = Graduate(app).open(token)
    assert reply.status_code == 404
    assert "This link does not open a survey" in reply.text
    assert "outcomes@localhost" in reply.text, "the contact line is on the page"
    assert "Data Analytics" not in reply.text and "set-cookie" not in reply.headers


def test_an_expired_link_says_so(app: Starlette, invited: tuple[int, str], clock: Clock) -> None:
    clock.at = NOW + dt.timedelta(days=31)
    reply = Graduate(app).open(invited[1])
    assert reply.status_code == 410 and "This link has expired" in reply.text


def test_a_closed_wave_says_so(app: Starlette, invited: tuple[int, str], engine: Engine) -> None:
    with session_scope(engine) as session:
        wave = session.exec(select(SurveyWave)).one()
        wave.status = "closed"
        session.add(wave)
    reply = Graduate(app).open(invited[1])
    assert reply.status_code == 410 and "This survey has closed" in reply.text


def test_a_wave_that_has_not_opened_says_so(
    app: Starlette, invited: tuple[int, str], clock: Clock
) -> None:
    clock.at = NOW - dt.timedelta(days=20)
    reply = Graduate(app).open(invited[1])
    assert reply.status_code == 403 and "has not opened yet" in reply.text


def test_an_opted_out_graduate_gets_the_opted_out_page(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    with session_scope(engine) as session:
        identity = session.exec(select(LearnerIdentity)).one()
        identity.contact_opted_out_at = NOW - dt.timedelta(days=3)
        session.add(identity)
    reply = Graduate(app).open(invited[1])
    assert reply.status_code == 403 and "You asked us not to contact you" in reply.text


def test_repeated_bad_links_from_one_client_are_slowed_down(
    app: Starlette, invited: tuple[int, str]
) -> None:
    graduate = Graduate(app)
    statuses = [graduate.open("b" * 42 + str(i % 10)).status_code for i in range(11)]
    assert statuses[:10] == [404] * 10
    assert statuses[10] == 429
    # While slowed down, even the right link waits: guessing gains nothing.
    assert graduate.open(invited[1]).status_code == 429


def test_the_survey_page_needs_the_link_first(app: Starlette) -> None:
    reply = Graduate(app).get("/survey")
    assert reply.status_code == 403 and "Please open your link again" in reply.text


# --- answering ------------------------------------------------------------------------------


def test_a_graduate_answers_the_whole_survey_and_the_outcome_is_derived(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    assert "How we use your answers" in graduate.page
    graduate.start()
    assert "Section 1 of 4" in graduate.page
    answer_all(graduate)
    assert "Check your answers" in graduate.page and "Analyst" in graduate.page
    done = graduate.post("/survey/submit", {})
    assert "your answers are in" in done.text
    response = _response(engine, invited[0])
    assert response is not None and response.status == "complete"
    assert response.answers["pay"] == {"amount": 2400.0, "currency": "EUR", "period": "monthly"}
    with Session(engine) as session:
        outcome = session.exec(select(Outcome)).one()
        invitation = session.get(Invitation, invited[0])
        events = session.exec(select(AuditEvent.action)).all()
    assert outcome.source == "survey" and outcome.response_id == response.id
    assert outcome.activity == "employed_full_time" and outcome.hours_per_week == 38
    assert outcome.salary_annual == pytest.approx(28_800)
    assert outcome.satisfaction == 5 and outcome.nps == 9 and outcome.months_to_first_job == 2
    assert invitation is not None and invitation.submitted_at == NOW
    assert "survey.submitted" in events


def test_skip_logic_leaves_out_the_job_section_for_a_graduate_seeking_work(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="seeking_employment")
    assert "Section 2 of 3" in graduate.page
    assert 'name="hours"' not in graduate.page
    graduate.section("voice", **VOICE)
    graduate.section("course", **COURSE)
    graduate.post("/survey/submit", {})
    with Session(engine) as session:
        outcome = session.exec(select(Outcome)).one()
    assert outcome.activity == "seeking_employment" and outcome.salary_annual is None


def test_answers_to_questions_whose_condition_fails_are_dropped(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="employed")
    # had a job before, yet months_to_job sent too (JavaScript off leaves it visible)
    graduate.section("job", **{**EMPLOYED_JOB, "had_job_before": "yes"})
    response = _response(engine, invited[0])
    assert response is not None
    assert response.answers["had_job_before"] is True and "months_to_job" not in response.answers


def test_a_bad_answer_gets_a_message_next_to_the_field_and_a_summary_that_takes_focus(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="employed")
    reply = graduate.section("job", **{**EMPLOYED_JOB, "hours": "thirty"})
    assert reply.status_code == 422
    page = reply.text
    assert "Please enter a whole number." in page
    assert 'id="hours-msg"' in page and re.search(r'aria-describedby="[^"]*hours-msg', page)
    assert 'aria-invalid="true"' in page
    assert 'role="alert"' in page and "data-summary autofocus" in page
    assert 'href="#hours"' in page
    assert 'value="thirty"' in page, "what was typed comes back for correction"
    response = _response(engine, invited[0])
    assert response is not None
    assert response.answers.get("industry") == "J", "the valid answers were kept"
    assert "job" not in (response.progress or {})["saved"]


def test_a_soft_required_question_nudges_once_then_may_be_skipped(
    app: Starlette, invited: tuple[int, str]
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="employed")
    graduate.section("job", **EMPLOYED_JOB)
    first = graduate.section("voice", voice_meaningful="4", voice_future="5")
    assert first.status_code == 200 and "Before you go on" in first.text
    assert "You may leave it blank" in first.text
    second = graduate.section("voice", voice_meaningful="4", voice_future="5")
    assert "Section 4 of 4" in second.text


def test_a_graduate_can_resume_a_half_finished_survey_on_another_device(
    app: Starlette, invited: tuple[int, str]
) -> None:
    phone = Graduate(app)
    phone.open(invited[1])
    phone.start()
    phone.section("activity", activity="employed")
    phone.section("job", **EMPLOYED_JOB)
    laptop = Graduate(app)
    laptop.open(invited[1])
    assert "Section 3 of 4" in laptop.page, "resumes at the first unfinished section"
    laptop.get("/survey?step=1")
    assert 'value="Acme"' in laptop.page and 'value="38"' in laptop.page
    assert re.search(r'value="monthly" selected', laptop.page)


def test_back_keeps_what_was_typed(app: Starlette, invited: tuple[int, str]) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="employed")
    graduate.post("/survey/section/job", {"nav": "back", "employer": "Acme"})
    assert "Section 1 of 4" in graduate.page
    graduate.get("/survey?step=1")
    assert 'value="Acme"' in graduate.page


def test_a_section_past_the_first_unfinished_one_cannot_be_skipped_to(
    app: Starlette, invited: tuple[int, str]
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.get("/survey?step=3")
    assert "Section 1 of 4" in graduate.page


def test_the_same_submit_twice_gives_one_response_and_says_it_is_already_in(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    answer_all(graduate)
    token = graduate.csrf()
    graduate.post("/survey/submit", {}, csrf=token)
    again = graduate.post("/survey/submit", {}, csrf=token)
    assert "already in" in again.text
    with Session(engine) as session:
        assert len(session.exec(select(Response)).all()) == 1
        assert len(session.exec(select(Outcome)).all()) == 1
        submitted = session.exec(
            select(AuditEvent).where(AuditEvent.action == "survey.submitted")
        ).all()
    assert len(submitted) == 1


def test_two_tabs_submitting_at_once_make_exactly_one_submission(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    first, second = Graduate(app), Graduate(app)
    first.open(invited[1])
    first.start()
    answer_all(first)
    second.open(invited[1])
    tokens = (first.csrf(), second.csrf())
    replies: list[int] = []
    barrier = threading.Barrier(2)

    def send(graduate: Graduate, token: str) -> None:
        barrier.wait()
        reply = graduate.client.post("/survey/submit", data={"csrf": token})
        replies.append(reply.status_code)
        replies.append(int("already" in reply.headers.get("location", "")))

    threads = [
        threading.Thread(target=send, args=pair)
        for pair in zip((first, second), tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(replies) == [0, 1, 303, 303], "one went in, the other was told it was in"
    with Session(engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "survey.submitted")
        ).all()
        revisions = session.exec(
            select(ResponseRevision).where(ResponseRevision.status == "complete")
        ).all()
    assert len(events) == 1 and len(revisions) == 1


def test_after_submitting_a_graduate_can_revise_until_the_wave_closes(
    app: Starlette, invited: tuple[int, str], engine: Engine, clock: Clock
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    answer_all(graduate)
    graduate.post("/survey/submit", {})
    before = _response(engine, invited[0])
    assert before is not None
    clock.at = NOW + dt.timedelta(days=2)
    graduate.get("/survey")
    assert "Please open your link again" in graduate.page, "the session lapsed in two days"
    graduate.open(invited[1])
    assert "You can still change them" in graduate.page
    graduate.get("/survey?step=3")
    graduate.section("course", satisfaction="2", recommend="3")
    after = _response(engine, invited[0])
    assert after is not None and after.revision == before.revision + 1
    assert after.status == "complete" and after.answers["satisfaction"] == 2
    with Session(engine) as session:
        outcome = session.exec(select(Outcome)).one()
        times = session.exec(
            select(ResponseRevision.saved_at).where(ResponseRevision.response_id == after.id)
        ).all()
    assert outcome.satisfaction == 2 and outcome.nps == 3, "the outcome follows the revision"
    assert max(times) == NOW + dt.timedelta(days=2), "every revision is kept with its time"
    open_tab = graduate.csrf()
    with session_scope(engine) as session:
        wave = session.exec(select(SurveyWave)).one()
        wave.status = "closed"
        session.add(wave)
    graduate.get("/survey")
    assert "Change" not in graduate.page, "a closed wave shows the answers, not a way to edit"
    refused = graduate.post(
        "/survey/section/course", {"nav": "next", "satisfaction": "1"}, csrf=open_tab
    )
    assert "This survey has closed" in refused.text


def test_a_form_without_the_session_s_token_is_refused_and_saves_nothing(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    reply = graduate.post("/survey/section/activity", {"activity": "employed"}, csrf="forged")
    assert reply.status_code == 403 and "nothing was saved" in reply.text
    other = Graduate(app)
    other.open(invited[1])
    stolen = other.csrf()
    third = Graduate(app)
    third.open(invited[1])
    reply = third.post("/survey/section/activity", {"activity": "employed"}, csrf=stolen)
    assert reply.status_code == 403, "a token belongs to the session it was made for"
    response = _response(engine, invited[0])
    assert response is not None and "activity" not in response.answers


def test_the_language_switch_shows_the_survey_in_spanish(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    assert '<html lang="en">' in graduate.page
    graduate.get("/survey?lang=es")
    assert '<html lang="es">' in graduate.page and "Empezar la encuesta" in graduate.page
    assert "Analítica de datos" in graduate.page
    graduate.start()
    assert "Sección 1 de 4" in graduate.page
    graduate.section("activity", activity="employed")
    response = _response(engine, invited[0])
    assert response is not None and response.language == "es"


def test_an_invitation_in_spanish_opens_in_spanish(
    app: Starlette, engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:
        _, token = factories.open_survey(session, settings, at=NOW, language="es")
    graduate = Graduate(app)
    graduate.open(token)
    assert '<html lang="es">' in graduate.page


def test_declining_stops_reminders_and_the_link_can_still_start_later(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    reply = graduate.post("/survey/start", {"action": "decline"})
    assert "Thank you for letting us know" in reply.text
    assert _invitation(engine, invited[0]).declined_at == NOW
    graduate.open(invited[1])
    graduate.start()
    assert _invitation(engine, invited[0]).declined_at is None


# --- opting out -----------------------------------------------------------------------------


def test_one_click_opt_out_by_post_needs_no_cookie(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    client = TestClient(app, base_url="http://localhost", follow_redirects=False)
    reply = client.post(
        f"/u/{invited[1]}",
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200 and "You will not be contacted again" in reply.text
    with Session(engine) as session:
        identity = session.exec(select(LearnerIdentity)).one()
    assert _invitation(engine, invited[0]).opted_out_at == NOW
    assert identity.contact_opted_out_at == NOW and _opt_out_via(engine) == {"via": "one-click"}


def test_a_get_of_the_opt_out_link_only_asks(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    reply = Graduate(app).get(f"/u/{invited[1]}")
    assert reply.status_code == 200 and "Stop all contact?" in reply.text
    assert f'action="/u/{invited[1]}"' in reply.text
    assert _invitation(engine, invited[0]).opted_out_at is None


def test_the_opt_out_button_on_every_page_works(
    app: Starlette, invited: tuple[int, str], engine: Engine
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    assert "Don&#39;t contact me again" in graduate.page or "Don't contact me again" in (
        graduate.page
    )
    reply = graduate.post("/survey/opt-out", {})
    assert "You will not be contacted again" in reply.text
    assert graduate.open(invited[1]).status_code == 403, "the link now shows the opted-out page"
    assert _opt_out_via(engine) == {"via": "button"}


# --- reissued links, headers ----------------------------------------------------------------


def test_a_reissued_link_ends_the_old_link_and_its_sessions(
    app: Starlette, invited: tuple[int, str], engine: Engine, settings: Settings
) -> None:
    graduate = Graduate(app)
    graduate.open(invited[1])
    with session_scope(engine) as session:
        fresh = reissue(session, settings, invited[0], actor="cli:test", at=NOW)
    assert graduate.get("/survey").status_code == 403, "the old session ended"
    assert Graduate(app).open(invited[1]).status_code == 404, "the old link stopped working"
    new = Graduate(app)
    new.open(fresh.token)
    assert "How we use your answers" in new.page


def test_survey_pages_carry_a_strict_policy_and_no_referrer(
    app: Starlette, invited: tuple[int, str]
) -> None:
    graduate = Graduate(app)
    reply = graduate.open(invited[1])
    policy = reply.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src 'sha256-" in policy
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"


def test_employer_and_job_title_are_kept_apart_and_go_with_an_erasure(
    app: Starlette, invited: tuple[int, str], engine: Engine, settings: Settings
) -> None:
    from outcomes.privacy.rights import erase_learner, learner_record
    from outcomes.store.tables import ResponseIdentifying, ResponseRevision

    graduate = Graduate(app)
    graduate.open(invited[1])
    graduate.start()
    graduate.section("activity", activity="employed")
    graduate.section("job", **EMPLOYED_JOB)
    response = _response(engine, invited[0])
    assert response is not None
    assert "employer" not in response.answers and "job_title" not in response.answers
    with Session(engine) as session:
        apart = session.exec(select(ResponseIdentifying)).all()
        revisions = session.exec(select(ResponseRevision.answers)).all()
    assert {(row.question_id, row.value) for row in apart} == {
        ("employer", "Acme"),
        ("job_title", "Analyst"),
    }
    assert not any("Acme" in str(answers) for answers in revisions)
    graduate.get("/survey?step=1")
    assert 'value="Acme"' in graduate.page, "the page still shows them to their author"
    learner_id = _invitation(engine, invited[0]).learner_id
    with session_scope(engine) as session:
        record = learner_record(session, learner_id=learner_id, actor="test", purpose="viewed")
        assert len(record.tables["response_identifying"]) == 2, "an access request includes them"
        erase_learner(
            session, learner_id=learner_id, actor="test", settings=settings, mode="anonymise"
        )
    with Session(engine) as session:
        assert session.exec(select(ResponseIdentifying)).all() == []
