"""The analysis frame links invitations, responses and outcomes to credentials, pseudonymously."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from outcomes.analysis.metrics import metrics_panel
from outcomes.config import get_settings
from outcomes.impact.service import metrics_from_database
from outcomes.store.aggregates import metric_counts
from outcomes.store.engine import session_scope
from outcomes.store.frames import ANALYSIS_COLUMNS, analysis_frame
from outcomes.store.reads import overview_counts
from outcomes.store.tables import Enrolment, Outcome, Response, SurveyWave
from outcomes.vocab import ACTIVITIES
from tests import factories


def test_holders_and_non_completers_come_back_linked_to_their_outcomes(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        prog = factories.programme(session)
        wave = factories.wave(session)
        holder = factories.completed_enrolment(session, factories.learner(session), prog)
        factories.credential(session, holder)
        leaver_learner = factories.learner(session, email="leo@example.org")
        leaver = Enrolment(
            learner_id=leaver_learner.id,
            programme_id=prog.id,
            started_on=dt.date(2024, 1, 10),
            ended_on=dt.date(2024, 3, 1),
            status="withdrawn",
        )
        session.add(leaver)
        session.flush()
        invited_holder = factories.invitation(session, wave, holder)
        factories.invitation(session, wave, leaver)
        response = Response(
            invitation_id=invited_holder.id,
            instrument_version_id=wave.instrument_version_id,
            answers={"activity": "employed_full_time"},
            status="complete",
        )
        session.add(response)
        session.flush()
        session.add(
            Outcome(
                learner_id=holder.learner_id,
                enrolment_id=holder.id,
                wave_id=wave.id,
                response_id=response.id,
                source="survey",
                observed_on=dt.date(2025, 1, 15),
                activity="employed_full_time",
                hours_per_week=38,
                salary_annual=31000,
            )
        )
    with session_scope(engine) as session:
        frame = analysis_frame(session=session, wave_months=6)
        counts = overview_counts(session=session, scope=None)
        later_wave = analysis_frame(session=session, wave_months=36)
    assert tuple(frame.columns) == ANALYSIS_COLUMNS
    assert not {"email", "given_name", "family_name", "ref"} & set(frame.columns)
    by_status = frame.set_index("enrolment_status")
    assert bool(by_status.loc["completed", "treated"]) is True
    assert bool(by_status.loc["withdrawn", "treated"]) is False
    assert bool(by_status.loc["completed", "responded"]) is True
    assert bool(by_status.loc["withdrawn", "known"]) is False
    assert by_status.loc["completed", "activity"] == "employed_full_time"
    assert by_status.loc["completed", "salary_annual"] == 31000
    assert list(frame["cohort"]) == [2024, 2024]
    assert counts["invitations sent"] == 0 and counts["outcomes"] == 1
    assert later_wave.empty


def outcome(
    enrolment: Enrolment,
    wave: SurveyWave,
    response_id: int | None,
    source: str,
    activity: str,
    **answers: Any,
) -> Outcome:
    """The outcome of ``enrolment``'s learner in ``wave``, observed on 1 February 2025."""
    return Outcome(
        learner_id=enrolment.learner_id,
        enrolment_id=enrolment.id,
        wave_id=wave.id,
        response_id=response_id,
        source=source,
        observed_on=dt.date(2025, 2, 1),
        activity=activity,
        **answers,
    )


def test_knowledge_counts_every_graduate_and_only_real_activities(engine: sa.Engine) -> None:
    """NACE: known outcomes ÷ all graduates of the cohort; response rate ÷ those sent it."""
    with session_scope(engine) as session:
        prog = factories.programme(session)
        wave = factories.wave(session)
        graduates = []
        for email in ("a@example.org", "b@example.org", "c@example.org"):
            enrolment = factories.completed_enrolment(
                session, factories.learner(session, email), prog
            )
            factories.credential(session, enrolment, external_id=f"urn:{email}")
            graduates.append(enrolment)
        sent_answered, sent_silent, not_sent = (
            factories.invitation(session, wave, enrolment) for enrolment in graduates
        )
        for invitation in (sent_answered, sent_silent):
            invitation.sent_at = invitation.expires_at - dt.timedelta(days=30)
        not_sent.opted_out_at = not_sent.expires_at - dt.timedelta(days=30)
        session.add_all([sent_answered, sent_silent, not_sent])
        response = Response(
            invitation_id=sent_answered.id,
            instrument_version_id=wave.instrument_version_id,
            answers={},
            status="complete",
        )
        session.add(response)
        session.flush()
        for enrolment, activity, source, response_id in (
            (graduates[0], "employed_full_time", "survey", response.id),
            (graduates[1], "unknown", "staff_verified", None),
        ):
            session.add(outcome(enrolment, wave, response_id, source, activity))
    with session_scope(engine) as session:
        counts = metric_counts(
            session=session, group_by=(), fulltime_hours=30.0, wave_months=6
        ).iloc[0]
        frame = analysis_frame(session=session, wave_months=6)
        sent = session.execute(
            sa.text("SELECT count(*) FROM invitation WHERE sent_at IS NOT NULL")
        ).scalar_one()
    assert sent == 2
    assert (counts["graduates"], counts["invited"], counts["responded"]) == (3, 2, 1)
    assert counts["known"] == 1, "an outcome whose activity is 'unknown' is not a known outcome"
    assert frame["invited"].sum() == 2 and frame["known"].sum() == 1


# --- every activity code, counted by hand ---------------------------------------------------

# One holder per row, all in one six-month wave. Columns: activity (None: no outcome row),
# hours, salary, job_related, satisfaction, nps, voice_meaningful, voice_future, voice_skills,
# response status (None: no response), invitation sent, outcome source.
EVERY_ACTIVITY = [
    ("employed_full_time", 40, 30_000, 5, 5, 10, 4, 3, 5, "complete", True, "survey"),
    ("employed_full_time", None, 50_000, 4, 4, 9, 4, 3, 4, "complete", True, "survey"),
    ("employed_full_time", 25, 20_000, 2, 3, 8, 4, 3, 3, "complete", True, "survey"),
    ("employed_part_time", 32, 26_000, 3, 2, 7, 4, 3, 2, "complete", True, "survey"),
    ("employed_part_time", 12, 9000, None, None, None, None, None, None, "partial", True, "survey"),
    ("self_employed", None, None, 4, 4, 6, 4, 3, 4, "complete", True, "survey"),
    ("internship", 38, 12_000, 5, 1, 0, 4, 3, 1, "complete", True, "survey"),
    ("voluntary", None, None, None, None, None, None, None, None, None, True, "staff_verified"),
    ("military", 40, 28_000, None, 5, 9, 4, 3, 5, "complete", True, "survey"),
    ("continuing_education", None, None, None, 4, 10, 4, 3, 4, "complete", True, "survey"),
    ("seeking_employment", None, None, None, 2, 3, 4, 3, 2, "complete", True, "survey"),
    ("seeking_study", None, None, None, 3, None, 4, 3, 3, "complete", True, "survey"),
    ("not_seeking", None, None, None, None, None, None, None, None, "complete", True, "survey"),
    ("unknown", None, None, None, None, None, None, None, None, None, True, "staff_verified"),
    (None, None, None, None, None, None, None, None, None, None, True, None),
    (None, None, None, None, None, None, None, None, None, None, False, None),
]  # fmt: skip

# Numerator and denominator of each rate, counted from the rows above with domain.md §4's
# formulas (full-time: 30 h or more when hours are known, else the activity code decides).
EXPECTED_RATES = {
    # complete responses (rows 1-4, 6, 7, 9-13) ÷ invitations sent (all but row 16)
    "response_rate": (11, 15),
    "partial_response_rate": (1, 15),  # row 5
    # an outcome whose activity is known (rows 1-13) ÷ every graduate
    "knowledge_rate": (13, 16),
    # employed of any kind (rows 1-6) + internship + voluntary + military + continuing
    # education = 10, ÷ (those + seeking employment + seeking study) = 12; not seeking and
    # unknown (rows 13-16) are left out
    "career_outcomes_rate": (10, 12),
    # full-time: row 1 (40 h), row 2 (no hours, coded full-time), row 4 (part-time code,
    # 32 h); not row 3 (25 h) nor internship/military (not employment) = 3, ÷ (3 + seeking
    # employment 1)
    "fulltime_employment_rate": (3, 4),
    # employed (rows 1-6) ÷ (employed + seeking employment)
    "overall_employment_rate": (6, 7),
    # continuing education ÷ graduates with a known activity (16 - 3 unknown)
    "further_study_rate": (1, 13),
    # employed who rated relatedness (rows 1-4, 6; the intern's 5 does not count), 4-5: 1, 2, 6
    "relatedness_rate": (3, 5),
    # satisfaction answered: rows 1-4, 6, 7, 9-12 (5 4 3 2 4 1 5 4 2 3); 4-5: five of them
    "satisfaction_agree": (5, 10),
    "voice_meaningful_agree": (10, 10),  # all answered 4
    "voice_future_agree": (0, 10),  # all answered 3
    "voice_skills_agree": (5, 10),  # the satisfaction answers again
}


def _every_activity_wave(session: Session) -> None:
    prog = factories.programme(session)
    wave = factories.wave(session)
    for number, row in enumerate(EVERY_ACTIVITY):
        activity, hours, salary, related, satisfaction, nps = row[:6]
        meaningful, future, skills, status, sent, source = row[6:]
        enrolment = factories.completed_enrolment(
            session, factories.learner(session, f"g{number}@example.org"), prog
        )
        factories.credential(session, enrolment, external_id=f"urn:g{number}")
        invitation = factories.invitation(session, wave, enrolment)
        if sent:
            invitation.sent_at = invitation.expires_at - dt.timedelta(days=30)
            session.add(invitation)
        response_id = None
        if status is not None:
            response = Response(
                invitation_id=invitation.id,
                instrument_version_id=wave.instrument_version_id,
                answers={},
                status=status,
            )
            session.add(response)
            session.flush()
            response_id = response.id
        if activity is not None:
            session.add(
                outcome(
                    enrolment,
                    wave,
                    response_id,
                    source,
                    activity,
                    hours_per_week=hours,
                    salary_annual=salary,
                    job_related=related,
                    satisfaction=satisfaction,
                    nps=nps,
                    voice_meaningful=meaningful,
                    voice_future=future,
                    voice_skills=skills,
                )
            )
    session.flush()


def test_every_activity_code_lands_in_the_numerators_and_denominators_counted_by_hand(
    engine: sa.Engine,
) -> None:
    settings = get_settings({"OUTCOMES_SALARY_TOP_QUANTILE": "1"})
    with session_scope(engine) as session:
        _every_activity_wave(session)
    with session_scope(engine) as session:
        counts = metric_counts(
            session=session, group_by=(), fulltime_hours=30.0, wave_months=6
        ).iloc[0]
        in_sql = metrics_from_database(session, settings, group_by=(), wave_months=6)
        frame = analysis_frame(session=session, wave_months=6, treated=True)
    in_pandas = metrics_panel(
        frame,
        fulltime_hours=settings.fulltime_hours,
        salary_top_quantile=settings.salary_top_quantile,
        salary_floor=settings.salary_floor,
    )
    by_code = {code: 1 for code in ACTIVITIES}
    by_code |= {"employed_full_time": 3, "employed_part_time": 2, "unknown": 3}
    assert {code: counts[f"n_{code}"] for code in ACTIVITIES} == by_code
    for path, panel in (("SQL", in_sql), ("pandas", in_pandas)):
        for name, (numerator, denominator) in EXPECTED_RATES.items():
            metric = panel.get(name)
            assert (metric.numerator, metric.denominator) == (numerator, denominator), (path, name)
            assert metric.estimate == pytest.approx(numerator / denominator), (path, name)
        # Satisfaction 5 4 3 2 4 1 5 4 2 3: mean 3.3, SD sqrt((125 - 10 * 3.3^2) / 9), t(9).
        mean = panel.get("satisfaction_mean")
        half = 2.262157 * np.sqrt((125 - 10 * 3.3**2) / 9) / np.sqrt(10)
        assert (mean.n, mean.estimate) == (10, pytest.approx(3.3)), path
        assert (mean.ci_low, mean.ci_high) == (
            pytest.approx(3.3 - half, rel=1e-6),
            pytest.approx(3.3 + half, rel=1e-6),
        ), path
        # NPS answered by 9: promoters 10 9 9 10, detractors 6 0 3 -> (4 - 3) / 9.
        nps = panel.get("nps")
        assert (nps.n, nps.estimate) == (9, pytest.approx(100 / 9)), path
        # Full-time salaries: rows 1, 2 and 4 (30k, 50k, 26k); row 3 works 25 h.
        median = panel.get("salary_p50")
        assert (median.n, median.estimate) == (3, pytest.approx(30_000)), path
