"""A graduate answers the six-month follow-up on a phone, against a real ``streamlit run``.

The personal link on a 375 px wide screen; the answers given through the page's own
controls (labels clicked, fields filled, options selected); the phone closed halfway; the
link opened again in a fresh browser, which resumes at the first unfinished section with the
earlier answers in place; the rest answered and sent. Then the database: a complete
response and its canonical outcome. Throughout, the pages ask for nothing but the survey's
own routes: never the Streamlit frontend (``/static/``, ``/_stcore/``).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from outcomes.store.engine import make_engine
from outcomes.store.tables import Invitation, Outcome, Response
from tests.browser.survey_pages import (
    NEXT,
    PHONE,
    SEND,
    PageLog,
    follow,
    phone_page,
    step_label,
)
from tests.serving import Invited, RunningApp

SERVED = "a real server on a SQLite file: the browser tier tests pages, not the database"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sqlite_only(SERVED)]


def question(page: Any, legend: str) -> Any:
    """The fieldset (a group, named by its legend) of a question with choices."""
    return page.get_by_role("group", name=legend)


def months_to_job_shown(page: Any) -> bool:
    return bool(page.locator("#months_to_job").is_visible())


def assert_no_streamlit(log: PageLog) -> None:
    assert log.streamlit_requests() == [], "graduates never load the Streamlit frontend"
    assert log.outside_the_survey() == [], "nothing but the survey's own routes"
    assert log.errors == [], "no console errors (a blocked style or script would show here)"


def answer_the_first_half(page: Any, invited: Invited) -> None:
    page.goto(invited.link)
    assert page.url.endswith("/survey"), "the token left the address bar"
    assert "/s/" not in page.url
    page.get_by_role("heading", name="Six months on").wait_for()
    follow(page, page.get_by_role("button", name="Start the survey"))

    assert step_label(page) == "Section 1 of 4"
    activity = question(page, "What is your main activity at the moment?")
    activity.get_by_text("Working for an employer").click()  # the label, as a thumb would
    follow(page, page.get_by_role("button", name="Save and continue"))

    assert step_label(page) == "Section 2 of 4"
    page.get_by_role("heading", name="Your work").wait_for()
    page.get_by_label("How many hours a week do you usually work?").fill("38")
    page.get_by_label("Amount").fill("2400")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Paid per").select_option(label="month")
    page.get_by_label("What is the name of your employer?").fill("Acme")
    page.get_by_label("What is your job title?").fill("Analyst")
    page.get_by_label("Which group best describes your job?").select_option("2")
    page.get_by_label("What does your employer (or your business) mainly do?").select_option("J")

    # show_if in the browser: "months to job" is asked only of who did not have the job before.
    assert not months_to_job_shown(page), "hidden until had_job_before is answered"
    before = question(page, "Did you already have this job before you completed the course?")
    before.get_by_label("No", exact=True).check()
    assert months_to_job_shown(page), "answering No reveals it"
    before.get_by_label("Yes", exact=True).check()
    assert not months_to_job_shown(page), "answering Yes hides it again"
    before.get_by_label("No", exact=True).check()
    page.get_by_label("How many months after completing the course did you start").fill("2")
    related = question(page, "How closely is this work related to what you learnt on the course?")
    related.get_by_label("Closely related", exact=True).check()
    follow(page, page.get_by_role("button", name="Save and continue"))
    assert step_label(page) == "Section 3 of 4"


def answer_the_rest(page: Any) -> None:
    page.get_by_role("heading", name="Looking at what you do now").wait_for()
    question(page, "My current activity is meaningful.").get_by_label("Agree", exact=True).check()
    question(page, "My current activity fits with my future plans.").get_by_label(
        "Strongly agree", exact=True
    ).check()
    question(page, "I am using what I learnt on the course in my current activity.").get_by_label(
        "Neither agree nor disagree", exact=True
    ).check()
    follow(page, page.get_by_role("button", name="Save and continue"))

    assert step_label(page) == "Section 4 of 4"
    question(page, "Looking back, how satisfied are you").get_by_label(
        "Very satisfied", exact=True
    ).check()
    question(page, "How likely are you to recommend the course").get_by_label(
        "9", exact=True
    ).check()
    page.get_by_label("Is there anything else you would like to tell us").fill("Good course.")
    follow(page, page.get_by_role("button", name="Save and continue"))


def test_a_graduate_answers_on_a_phone_leaves_halfway_resumes_and_sends(
    chromium: Any, survey_server: RunningApp
) -> None:
    invited = survey_server.invite("follow-up-6m")

    phone, page, first_log = phone_page(chromium)
    answer_the_first_half(page, invited)
    phone.close()  # gone halfway: the cookie goes with the context
    assert_no_streamlit(first_log)

    later, page, log = phone_page(chromium)
    page.goto(invited.link)
    assert step_label(page) == "Section 3 of 4", "resumes at the first unfinished section"
    page.goto(f"{survey_server.base_url}/survey?step=1")
    assert step_label(page) == "Section 2 of 4"
    assert page.get_by_label("How many hours a week do you usually work?").input_value() == "38"
    assert page.get_by_label("Amount").input_value() == "2400"
    assert page.get_by_label("Paid per").input_value() == "monthly"
    assert page.get_by_label("What is your job title?").input_value() == "Analyst"
    assert page.get_by_label("Which group best describes your job?").input_value() == "2"
    assert page.locator("#had_job_before-1").is_checked(), "No is still chosen"
    assert months_to_job_shown(page), "and so months to job is shown"
    assert page.locator("#months_to_job").input_value() == "2"
    assert page.locator("#related-3").is_checked(), "Closely related"
    follow(page, page.get_by_role("button", name="Save and continue"))

    answer_the_rest(page)
    page.get_by_role("heading", name="Check your answers").wait_for()
    review = page.locator("main").inner_text()
    assert "Analyst" in review and "2,400 EUR / month" in review
    follow(page, page.locator(SEND))
    page.get_by_role("heading", name="Thank you — your answers are in").wait_for()
    later.close()
    assert_no_streamlit(log)

    engine = make_engine(survey_server.database_url)
    try:
        with Session(engine) as session:
            response = session.exec(
                select(Response).where(Response.invitation_id == invited.invitation_id)
            ).one()
            outcome = session.exec(select(Outcome).where(Outcome.response_id == response.id)).one()
            invitation = session.get(Invitation, invited.invitation_id)
    finally:
        engine.dispose()
    assert response.status == "complete" and response.submitted_at is not None
    assert response.answers["pay"] == {"amount": 2400.0, "currency": "EUR", "period": "monthly"}
    assert response.answers["had_job_before"] is False and response.answers["months_to_job"] == 2
    assert invitation is not None and invitation.submitted_at is not None
    assert outcome.source == "survey"
    assert outcome.activity == "employed_full_time" and outcome.hours_per_week == 38
    assert outcome.salary_annual == pytest.approx(28_800)
    assert outcome.occupation_isco == "2" and outcome.industry_isic == "J"
    assert outcome.months_to_first_job == 2 and outcome.job_related == 4
    assert (outcome.voice_meaningful, outcome.voice_future, outcome.voice_skills) == (4, 5, 3)
    assert outcome.satisfaction == 5 and outcome.nps == 9


def test_the_pages_work_with_javascript_off(chromium: Any, survey_server: RunningApp) -> None:
    """With no script, every question shows (the server applies show_if when it saves)."""
    invited = survey_server.invite("follow-up-6m")
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(invited.link)
    follow(page, page.get_by_role("button", name="Start the survey"))
    page.get_by_label("Working for an employer").check()
    follow(page, page.locator(NEXT))
    assert step_label(page) == "Section 2 of 4"
    assert page.locator("#months_to_job").is_visible(), "no script: nothing is hidden"
    context.close()
