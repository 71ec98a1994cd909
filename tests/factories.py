"""Small builders of valid records for tests that need a few rows through the real model."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyotp
from sqlmodel import Session, select

from outcomes import audit
from outcomes.access import mfa, sessions, staff_sessions
from outcomes.access.auth import UNKNOWN_EMAIL
from outcomes.access.staff import create_staff_user
from outcomes.config import Settings, get_settings
from outcomes.store.tables import (
    Credential,
    Enrolment,
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerIdentity,
    MailMessage,
    Outcome,
    Programme,
    Response,
    StaffUser,
    SurveyWave,
    WaveProgramme,
    utcnow,
)


def programme(session: Session, code: str = "DA-101") -> Programme:
    """A valid programme with every EU element filled in."""
    record = Programme(
        code=code,
        title="Data Analytics",
        title_es="Analítica de datos",
        awarding_body="Demo University",
        issuer_country="ES",
        learning_outcomes="Clean, analyse and present data.",
        ects=6,
        eqf_level=6,
        assessment_type="application_of_a_skill",
        assessment_description="A graded project",
        participation_form="online",
        quality_assurance_type="internal",
        quality_assurance="internal QA",
        field_of_study="0613 Software and applications development",
        industry_partners=["Acme Analytics"],
        launched_on=dt.date(2021, 1, 1),
    )
    session.add(record)
    session.flush()
    return record


def learner(session: Session, email: str = "ana@example.org") -> Learner:
    """A learner with an identity row."""
    record = Learner(ref=str(uuid.uuid4()), preferred_language="es", gender="female")
    session.add(record)
    session.flush()
    session.add(
        LearnerIdentity(learner_id=record.id, given_name="Ana", family_name="Ruiz", email=email)
    )
    return record


def completed_enrolment(session: Session, who: Learner, what: Programme) -> Enrolment:
    """A completed enrolment of ``who`` on ``what``."""
    record = Enrolment(
        learner_id=who.id,
        programme_id=what.id,
        started_on=dt.date(2024, 1, 10),
        ended_on=dt.date(2024, 6, 30),
        status="completed",
    )
    session.add(record)
    session.flush()
    return record


def credential(
    session: Session, enrolment: Enrolment, external_id: str | None = "urn:uuid:1"
) -> Credential:
    """A credential awarded for ``enrolment``."""
    record = Credential(
        learner_id=enrolment.learner_id,
        programme_id=enrolment.programme_id,
        enrolment_id=enrolment.id,
        issued_on=dt.date(2024, 7, 1),
        external_id=external_id,
        source="manual",
    )
    session.add(record)
    session.flush()
    return record


def wave(session: Session, name: str = "2024 cohort — 6 months") -> SurveyWave:
    """A six-month wave with its instrument version."""
    version = InstrumentVersion(
        instrument_key="follow-up-6m",
        content_hash=hashlib.sha256(name.encode()).hexdigest(),
        title="Six months on",
        definition={"id": "follow-up-6m"},
    )
    session.add(version)
    session.flush()
    record = SurveyWave(
        name=name,
        instrument_version_id=version.id,
        months_after_award=6,
        cohort_start=dt.date(2024, 1, 1),
        cohort_end=dt.date(2024, 12, 31),
        opens_on=dt.date(2025, 1, 1),
        closes_on=dt.date(2025, 3, 31),
    )
    session.add(record)
    session.flush()
    return record


def invitation(
    session: Session, on: SurveyWave, enrolment: Enrolment, **state: object
) -> Invitation:
    """An invitation for the learner of ``enrolment`` to wave ``on`` (``state``: its columns,
    e.g. ``sent_at=…``, ``skipped_reason="erased"``)."""
    record = Invitation(
        wave_id=on.id,
        learner_id=enrolment.learner_id,
        enrolment_id=enrolment.id,
        token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        expires_at=utcnow() + dt.timedelta(days=30),
        **state,
    )
    session.add(record)
    session.flush()
    return record


def wave_programme(session: Session, on: SurveyWave, what: Programme) -> None:
    """Name ``what`` among the programmes wave ``on`` surveys."""
    session.add(WaveProgramme(wave_id=on.id, programme_id=what.id))
    session.flush()


def response(
    session: Session,
    to: Invitation,
    *,
    status: str = "complete",
    submitted_at: dt.datetime | None = None,
) -> Response:
    """A response to invitation ``to`` (``complete``: submitted at ``submitted_at``)."""
    record = Response(
        invitation_id=to.id,
        instrument_version_id=session.get(SurveyWave, to.wave_id).instrument_version_id,  # type: ignore[union-attr]
        answers={},
        status=status,
        submitted_at=submitted_at,
    )
    session.add(record)
    session.flush()
    return record


def outcome(
    session: Session,
    of: Invitation,
    *,
    source: str = "employer",
    activity: str = "employed_full_time",
) -> Outcome:
    """The outcome of the graduate of invitation ``of`` in its wave, from ``source``."""
    record = Outcome(
        learner_id=of.learner_id,
        enrolment_id=of.enrolment_id,
        wave_id=of.wave_id,
        source=source,
        observed_on=dt.date(2025, 2, 1),
        activity=activity,
        recorded_by=None if source == "survey" else "staff@example.org",
        recorded_at=None if source == "survey" else utcnow(),
    )
    session.add(record)
    session.flush()
    return record


def mail_message(
    session: Session,
    to: Invitation,
    *,
    kind: str = "invitation",
    number: int = 0,
    status: str = "sent",
    sent_at: dt.datetime | None = None,
) -> MailMessage:
    """An outbox message of invitation ``to``."""
    record = MailMessage(
        invitation_id=to.id, kind=kind, number=number, status=status, sent_at=sent_at
    )
    session.add(record)
    session.flush()
    return record


def signed_in(
    session: Session, user_id: int, *, via: str = "password", at: dt.datetime | None = None
) -> sessions.StaffSession:
    """A live staff session for ``user_id`` (its server-side row included), for session state."""
    user = session.get(StaffUser, user_id)
    assert user is not None
    at = at or sessions.now()
    token = staff_sessions.open_session(
        session, user_id=user_id, via=via, at=at, settings=get_settings()
    )
    return sessions.StaffSession(user_id, user.role, user.email, at, at, via, token)


@dataclass(frozen=True)
class SecondFactor:
    """What a staff member keeps after enrolling: the TOTP secret and the recovery codes."""

    secret: str
    recovery_codes: list[str]


def enrolled_second_factor(session: Session, user_id: int) -> SecondFactor:
    """Enrol ``user_id`` in TOTP (as the account page does); the secret and recovery codes."""
    enrolment = mfa.begin_enrolment(session, user_id=user_id, settings=get_settings())
    at = utcnow()
    code = pyotp.TOTP(enrolment.secret).at(at)
    codes = mfa.confirm_enrolment(
        session, user_id=user_id, code=code, at=at, settings=get_settings()
    )
    return SecondFactor(enrolment.secret, codes)


def second_factor(session: Session, user_id: int) -> str:
    """Enrol ``user_id`` in TOTP (as the account page does); the secret, to make codes with."""
    return enrolled_second_factor(session, user_id).secret


def staff_user(
    session: Session, email: str, *, role: str = "admin", password: str | None = None
) -> int:
    """A staff account that has chosen its own password (or signs in by SSO only); its id."""
    user = create_staff_user(
        session,
        email=email,
        role=role,
        password=password,
        actor="test",
        must_change_password=False,
    )
    assert user.id is not None
    return user.id


def unknown_email_failure(session: Session, digest: str) -> None:
    """Record a failed sign-in with an unknown e-mail whose stored digest is ``digest``."""
    audit.record(
        session,
        actor="anonymous",
        action="signin.failed",
        object_type=UNKNOWN_EMAIL,
        object_id=digest,
    )


def open_survey(
    session: Session,
    settings: Settings,
    *,
    at: dt.datetime,
    instrument: str = "follow-up-6m",
    email: str = "ana@example.org",
    language: str = "en",
    code: str = "DA-101",
) -> tuple[int, str]:
    """A graduate invited to an open wave of a shipped instrument: (invitation id, token)."""
    from outcomes.fieldwork.links import new_token, token_hash
    from outcomes.instruments.loading import load_instrument
    from outcomes.store.instrument_versions import ensure_instrument_version

    version = ensure_instrument_version(
        session, load_instrument(Path(__file__).parents[1] / "surveys" / f"{instrument}.yaml")
    )
    found = session.exec(select(Programme).where(Programme.code == code)).first()
    prog = found or programme(session, code)
    who = learner(session, email=email)
    enrolment = completed_enrolment(session, who, prog)
    credential(session, enrolment, external_id=f"urn:uuid:{uuid.uuid4()}")
    wave_name = f"{instrument} wave"
    wave_row = session.exec(select(SurveyWave).where(SurveyWave.name == wave_name)).first()
    if wave_row is None:
        wave_row = SurveyWave(
            name=wave_name,
            instrument_version_id=version.id,
            months_after_award=6,
            cohort_start=dt.date(2024, 1, 1),
            cohort_end=dt.date(2024, 12, 31),
            opens_on=at.date() - dt.timedelta(days=10),
            closes_on=at.date() + dt.timedelta(days=60),
            status="open",
        )
        session.add(wave_row)
        session.flush()
    token = new_token()
    record = Invitation(
        wave_id=wave_row.id,
        learner_id=who.id,
        enrolment_id=enrolment.id,
        token_hash=token_hash(settings, token),
        expires_at=at + dt.timedelta(days=30),
        language=language,
        sent_at=at - dt.timedelta(days=1),
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id, token


def mail_wave(
    session: Session,
    *,
    today: dt.date,
    name: str = "Mail wave",
    status: str = "open",
    max_reminders: int = 2,
    reminder_gap_days: int = 7,
    code: str = "DA-101",
) -> SurveyWave:
    """A wave of the shipped six-month follow-up open around ``today``, its programme listed."""
    from outcomes.instruments.loading import load_instrument
    from outcomes.store.instrument_versions import ensure_instrument_version
    from outcomes.store.tables import WaveProgramme

    found = session.exec(select(Programme).where(Programme.code == code)).first()
    prog = found or programme(session, code)
    version = ensure_instrument_version(
        session, load_instrument(Path(__file__).parents[1] / "surveys" / "follow-up-6m.yaml")
    )
    record = SurveyWave(
        name=name,
        instrument_version_id=version.id,
        months_after_award=6,
        cohort_start=dt.date(2024, 1, 1),
        cohort_end=dt.date(2024, 12, 31),
        opens_on=today - dt.timedelta(days=3),
        closes_on=today + dt.timedelta(days=60),
        status=status,
        max_reminders=max_reminders,
        reminder_gap_days=reminder_gap_days,
    )
    session.add(record)
    session.flush()
    session.add(WaveProgramme(wave_id=record.id, programme_id=prog.id))
    session.flush()
    return record


def wave_invitation(
    session: Session,
    on: SurveyWave,
    *,
    email: str,
    given_name: str = "Ana",
    language: str = "en",
    code: str = "DA-101",
) -> Invitation:
    """A graduate of programme ``code`` invited to ``on`` as a launch leaves them: unsent,
    with the hash of a token nobody knows."""
    prog = session.exec(select(Programme).where(Programme.code == code)).first()
    prog = prog or programme(session, code)
    who = Learner(ref=str(uuid.uuid4()), preferred_language=language)
    session.add(who)
    session.flush()
    session.add(
        LearnerIdentity(learner_id=who.id, given_name=given_name, family_name="Ruiz", email=email)
    )
    enrolment = completed_enrolment(session, who, prog)
    record = Invitation(
        wave_id=on.id,
        learner_id=who.id,
        enrolment_id=enrolment.id,
        token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        expires_at=utcnow() + dt.timedelta(days=30),
        language=language,
    )
    session.add(record)
    session.flush()
    return record
