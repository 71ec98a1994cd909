"""Every question type of the instrument format renders as native, labelled HTML controls."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from outcomes.config import Settings
from outcomes.fieldwork.links import new_token, token_hash
from outcomes.instruments.loading import parse_instrument
from outcomes.store.engine import session_scope
from outcomes.store.instrument_versions import ensure_instrument_version
from outcomes.store.tables import Invitation, Response, SurveyWave
from outcomes.web.survey.texts import TEXTS
from tests import factories

NOW = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

EVERY_TYPE = """
id: every-type
title: {en: Every type, es: Todos los tipos}
intro: {en: Intro, es: Introducción}
privacy_notice: {version: "v1", text: {en: Notice, es: Aviso}}
sections:
  - id: all
    title: {en: All of them, es: Todos}
    questions:
      - {id: one, type: single_choice, text: {en: "One?", es: "¿Una?"}, required: true,
         choices: [{code: a, label: {en: A, es: A}}, {code: b, label: {en: B, es: B}}]}
      - {id: many, type: multiple_choice, text: {en: "Many?", es: "¿Varias?"},
         choices: [{code: x, label: {en: X, es: X}}, {code: y, label: {en: Y, es: Y}}]}
      - {id: yn, type: yes_no, text: {en: "Yes or no?", es: "¿Sí o no?"}}
      - {id: whole, type: integer, text: {en: "Whole?", es: "¿Entero?"},
         unit: {en: hours, es: horas}, validation: {min: 0, max: 99}}
      - {id: part, type: decimal, text: {en: "Decimal?", es: "¿Decimal?"}}
      - {id: paid, type: money, text: {en: "Pay?", es: "¿Sueldo?"}, currencies: [EUR, USD]}
      - {id: agree, type: likert, scale: agreement, text: {en: "Agree?", es: "¿De acuerdo?"}}
      - {id: nps, type: scale_0_10, text: {en: "Recommend?", es: "¿Recomendaría?"},
         anchors: {low: {en: Not at all, es: Nada}, high: {en: Very, es: Mucho}}}
      - {id: short, type: short_text, text: {en: "Short?", es: "¿Corto?"},
         validation: {max_length: 50}}
      - {id: long, type: long_text, text: {en: "Long?", es: "¿Largo?"}}
      - {id: when, type: month_year, text: {en: "When?", es: "¿Cuándo?"}}
      - {id: where, type: country, text: {en: "Where?", es: "¿Dónde?"}}
      - {id: job, type: occupation, text: {en: "Occupation?", es: "¿Ocupación?"}}
      - {id: sector, type: industry, text: {en: "Industry?", es: "¿Sector?"}}
"""


@pytest.fixture
def page(engine: Engine, database_url: str) -> tuple[TestClient, str, int]:
    from outcomes.web.survey.routes import SurveyRoutes

    settings = Settings(database_url=database_url, secret_key="s" * 40)
    instrument, problems = parse_instrument(EVERY_TYPE)
    assert instrument is not None, problems
    with session_scope(engine) as session:
        version = ensure_instrument_version(session, instrument)
        prog = factories.programme(session)
        enrolment = factories.completed_enrolment(session, factories.learner(session), prog)
        wave = SurveyWave(
            name="every type",
            instrument_version_id=version.id,
            months_after_award=6,
            cohort_start=dt.date(2024, 1, 1),
            cohort_end=dt.date(2024, 12, 31),
            opens_on=dt.date(2025, 1, 1),
            closes_on=dt.date(2025, 6, 30),
            status="open",
        )
        session.add(wave)
        session.flush()
        token = new_token()
        invitation = Invitation(
            wave_id=wave.id,
            learner_id=enrolment.learner_id,
            enrolment_id=enrolment.id,
            token_hash=token_hash(settings, token),
            expires_at=NOW + dt.timedelta(days=9),
        )
        session.add(invitation)
        session.flush()
        invitation_id = invitation.id or 0
    app = Starlette(routes=SurveyRoutes(settings, engine, clock=lambda: NOW).routes())
    client = TestClient(app, follow_redirects=True)
    client.get(f"/s/{token}")
    start = client.get("/survey").text
    html = client.post(
        "/survey/start", data={"csrf": CSRF.findall(start)[0], "action": "start"}
    ).text
    return client, html, invitation_id


def test_choices_are_fieldsets_with_a_legend_and_a_label_per_option(
    page: tuple[TestClient, str, int],
) -> None:
    _, html, _ = page
    for question, kind, count in (
        ("one", "radio", 2),
        ("many", "checkbox", 2),
        ("yn", "radio", 2),
        ("agree", "radio", 5),
        ("nps", "radio", 11),
    ):
        block = re.search(rf'<div class="q[^"]*" id="q-{question}".*?</fieldset>', html, re.S)
        assert block, question
        assert "<legend>" in block.group(0)
        inputs = re.findall(rf'<input type="{kind}" id="([^"]+)" name="{question}"', block.group(0))
        assert len(inputs) == count, question
        for input_id in inputs:
            assert f'<label for="{input_id}">' in block.group(0), (question, input_id)


def test_every_other_input_has_its_label_and_numbers_their_keyboard(
    page: tuple[TestClient, str, int],
) -> None:
    _, html, _ = page
    ids = re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html)
    for control in ids:
        assert f'<label for="{control}"' in html, control
    assert re.search(r'id="whole" name="whole" inputmode="numeric"', html)
    assert re.search(r'id="part" name="part" inputmode="decimal"', html)
    assert re.search(r'name="paid.amount" inputmode="decimal"', html)
    assert '<select id="paid-currency" name="paid.currency"><option value="EUR">' in html
    assert 'maxlength="50"' in html and "<textarea" in html and 'type="month"' in html
    countries = re.search(r'<select id="where" name="where".*?</select>', html, re.S)
    assert countries and countries.group(0).count("<option") == 250  # 249 codes + "Choose…"
    assert re.search(r'<select id="job" name="job"', html)
    assert re.search(r'<select id="sector" name="sector"', html)


def test_answers_of_every_type_are_stored_in_canonical_form(
    page: tuple[TestClient, str, int], engine: Engine
) -> None:
    client, html, invitation_id = page
    fields = {
        "csrf": CSRF.findall(html)[0],
        "nav": "next",
        "one": "b",
        "many": ["x", "y"],
        "yn": "yes",
        "whole": "12",
        "part": "7.5",
        "paid.amount": "1500",
        "paid.currency": "USD",
        "paid.period": "weekly",
        "agree": "4",
        "nps": "10",
        "short": "  two   words ",
        "long": "A\nlonger answer",
        "when": "2026-03",
        "where": "PT",
        "job": "2",
        "sector": "J",
    }
    reply = client.post("/survey/section/all", data=fields)
    assert reply.status_code == 200 and "Check your answers" in reply.text
    with Session(engine) as session:
        response = session.exec(
            select(Response).where(Response.invitation_id == invitation_id)
        ).one()
    assert response.answers == {
        "one": "b",
        "many": ["x", "y"],
        "yn": True,
        "whole": 12,
        "part": 7.5,
        "paid": {"amount": 1500.0, "currency": "USD", "period": "weekly"},
        "agree": 4,
        "nps": 10,
        "short": "two words",
        "long": "A\nlonger answer",
        "when": "2026-03",
        "where": "PT",
        "job": "2",
        "sector": "J",
    }
    review = re.sub(r"<style>.*?</style>|<script>.*?</script>", "", reply.text, flags=re.S)
    assert "Portugal" in review and "<dd>7.5</dd>" in review and "1,500 USD / week" in review
    assert "<dd>X; Y</dd>" in review and "<dd>Professionals</dd>" in review


def test_every_phrase_of_the_survey_pages_is_in_both_languages() -> None:
    for key, phrases in TEXTS.items():
        assert set(phrases) == {"en", "es"}, key
        assert all(text.strip() for text in phrases.values()), key
