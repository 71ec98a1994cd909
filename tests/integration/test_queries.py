"""The analysis frame links invitations, responses and outcomes to credentials, pseudonymously."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from outcomes.db import session_scope
from outcomes.models import Enrolment, Outcome, Response
from outcomes.queries import ANALYSIS_COLUMNS, analysis_frame, metric_counts, overview_counts
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
            session.add(
                Outcome(
                    learner_id=enrolment.learner_id,
                    enrolment_id=enrolment.id,
                    wave_id=wave.id,
                    response_id=response_id,
                    source=source,
                    observed_on=dt.date(2025, 2, 1),
                    activity=activity,
                )
            )
    with session_scope(engine) as session:
        counts = metric_counts(session=session, group_by=(), wave_months=6).iloc[0]
        frame = analysis_frame(session=session, wave_months=6)
        sent = session.execute(
            sa.text("SELECT count(*) FROM invitation WHERE sent_at IS NOT NULL")
        ).scalar_one()
    assert sent == 2
    assert (counts["graduates"], counts["invited"], counts["responded"]) == (3, 2, 1)
    assert counts["known"] == 1, "an outcome whose activity is 'unknown' is not a known outcome"
    assert frame["invited"].sum() == 2 and frame["known"].sum() == 1
