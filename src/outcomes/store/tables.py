"""The data model: SQLModel tables, with their constraints.

Alembic migrations (``outcomes/migrations``) own the schema; a test checks that these models
and the migrations agree on SQLite and PostgreSQL. Vocabularies (activity categories,
statuses, ...) are tuples here and CHECK constraints in the schema, so that the database
itself refuses a value the domain does not know.

Identity (names, e-mail, external ids) lives in ``learner_identity`` and
``learner_external_id``, apart from the ``learner`` row that analysis reads: the analysis
layer never joins those two tables (see ``frames.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from outcomes.vocab import (
    ACTIVITIES,
    ASSESSMENT_TYPES,
    BASELINE_EMPLOYMENT,
    CREDENTIAL_SOURCES,
    CREDENTIAL_STATUSES,
    ENROLMENT_STATUSES,
    GENDERS,
    INVITATION_SKIP_REASONS,
    LANGUAGES,
    MAIL_KINDS,
    MAIL_STATUSES,
    OUTCOME_SOURCES,
    PARTICIPATION_FORMS,
    PRIOR_EDUCATION,
    PROGRAMME_STATUSES,
    QUALITY_ASSURANCE_TYPES,
    RESPONSE_STATUSES,
    ROLES,
    SUPERVISION_TYPES,
    WAVE_STATUSES,
)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a model (typed for mypy, which cannot see ``__table__``)."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


def _in(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always returned timezone-aware.

    SQLite has no time zones; storing naive UTC and attaching UTC on the way out keeps
    comparisons correct on both engines. Written by hand because neither SQLAlchemy nor
    SQLModel offers a portable aware-UTC column.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def _ts(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, **kw)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=nullable)


def _fk(target: str, nullable: bool = False, ondelete: str | None = None, **kw: Any) -> Any:
    return Field(  # type: ignore[call-overload]
        default=None if nullable else ...,
        foreign_key=target,
        nullable=nullable,
        index=True,
        ondelete=ondelete,
        **kw,
    )


# --- credential records ---------------------------------------------------------------------


class ProgrammeBase(SQLModel):
    """A micro-credential programme with the EU Recommendation's elements (Annex I).

    Input goes through ``records.programmes.ProgrammeCreate`` / ``ProgrammeUpdate``, which
    validate every element with a message per field (``docs/records.md``, "Programmes").
    """

    code: str = Field(max_length=40, unique=True, index=True)
    title: str = Field(max_length=300)
    title_es: str | None = Field(default=None, max_length=300)
    awarding_body: str = Field(max_length=300)
    issuer_country: str = Field(max_length=2, description="ISO 3166-1 alpha-2")
    learning_outcomes: str
    ects: float = Field(ge=0, le=300)
    # EQF level 1-8; "not applicable" is ``eqf_applicable`` false with no level (CHECK). A
    # NULL level with ``eqf_applicable`` true is a level never recorded (before 0008).
    eqf_level: int | None = Field(default=None, ge=1, le=8)
    eqf_applicable: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    assessment_type: str = Field(max_length=40, description="vocab.ASSESSMENT_TYPES")
    assessment_description: str | None = Field(default=None, sa_type=sa.Text)
    participation_form: str = Field(max_length=20)
    quality_assurance_type: str = Field(max_length=30, description="vocab.QUALITY_ASSURANCE_TYPES")
    quality_assurance: str = Field(max_length=300)
    prerequisites: str | None = None
    supervision_type: str | None = Field(default=None, max_length=60)
    identity_checked: bool | None = None
    grade_scheme: str | None = Field(default=None, sa_type=sa.Text)
    stackability: str | None = None
    further_information: str | None = Field(default=None, sa_type=sa.Text)
    field_of_study: str = Field(max_length=200)
    industry_partners: list[str] | None = _json()
    launched_on: dt.date | None = None
    redesigned_on: dt.date | None = None
    status: str = Field(default="active", max_length=20)
    achievement_id: str | None = Field(default=None, max_length=500, unique=True)


class Programme(ProgrammeBase, table=True):
    __tablename__ = "programme"
    __table_args__ = (
        _in("status", PROGRAMME_STATUSES, "ck_programme_status"),
        _in("participation_form", PARTICIPATION_FORMS, "ck_programme_participation"),
        _in("assessment_type", ASSESSMENT_TYPES, "ck_programme_assessment_type"),
        _in(
            "quality_assurance_type",
            QUALITY_ASSURANCE_TYPES,
            "ck_programme_quality_assurance_type",
        ),
        _in("supervision_type", SUPERVISION_TYPES, "ck_programme_supervision"),
        sa.CheckConstraint(
            "eqf_applicable OR eqf_level IS NULL", name="ck_programme_eqf_applicable"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)


class Learner(SQLModel, table=True):
    """A person who enrolled: pseudonymous analysis data only (no names, no e-mail)."""

    __tablename__ = "learner"
    __table_args__ = (
        _in("preferred_language", LANGUAGES, "ck_learner_language"),
        _in("gender", GENDERS, "ck_learner_gender"),
        _in("prior_education", PRIOR_EDUCATION, "ck_learner_prior_education"),
        _in("baseline_employment", BASELINE_EMPLOYMENT, "ck_learner_baseline_employment"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=36, unique=True, description="stable pseudonymous id (UUID)")
    preferred_language: str = Field(default="en", max_length=2)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    gender: str = Field(default="unknown", max_length=20)
    prior_education: str = Field(default="unknown", max_length=20)
    baseline_employment: str = Field(default="unknown", max_length=30)
    baseline_salary: float | None = Field(default=None, ge=0, description="annual, base currency")
    consent_at: dt.datetime | None = _ts()
    privacy_notice_version: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime = _created()
    erased_at: dt.datetime | None = _ts()


class LearnerIdentity(SQLModel, table=True):
    """Who a learner is: kept apart from analysis data, removed on erasure."""

    __tablename__ = "learner_identity"
    learner_id: int = Field(foreign_key="learner.id", primary_key=True, ondelete="CASCADE")
    given_name: str = Field(max_length=200)
    family_name: str = Field(max_length=200)
    email: str = Field(max_length=320, index=True)
    contact_opted_out_at: dt.datetime | None = _ts()


class LearnerExternalId(SQLModel, table=True):
    """An identifier of the learner in another system (student record, Open Badges subject)."""

    __tablename__ = "learner_external_id"
    __table_args__ = (sa.UniqueConstraint("scheme", "value", name="uq_external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = _fk("learner.id", ondelete="CASCADE")
    scheme: str = Field(max_length=60)
    value: str = Field(max_length=500)


class Enrolment(SQLModel, table=True):
    """A learner on a programme; non-completers are the natural comparison group."""

    __tablename__ = "enrolment"
    __table_args__ = (
        _in("status", ENROLMENT_STATUSES, "ck_enrolment_status"),
        sa.UniqueConstraint("learner_id", "programme_id", "started_on", name="uq_enrolment"),
        sa.CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ck_enrolment_dates"),
    )
    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = _fk("learner.id")
    programme_id: int = _fk("programme.id")
    started_on: dt.date
    ended_on: dt.date | None = None
    status: str = Field(max_length=20)


class Credential(SQLModel, table=True):
    """An award: the learner earned the programme's micro-credential."""

    __tablename__ = "credential"
    __table_args__ = (
        _in("status", CREDENTIAL_STATUSES, "ck_credential_status"),
        _in("source", CREDENTIAL_SOURCES, "ck_credential_source"),
    )
    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = _fk("learner.id")
    programme_id: int = _fk("programme.id")
    enrolment_id: int = _fk("enrolment.id")
    issued_on: dt.date = Field(index=True)
    external_id: str | None = Field(default=None, max_length=500, unique=True)
    grade: str | None = Field(default=None, max_length=60)
    status: str = Field(default="active", max_length=20)
    revoked_on: dt.date | None = None
    source: str = Field(max_length=20)


# --- fieldwork ------------------------------------------------------------------------------


class InstrumentVersion(SQLModel, table=True):
    """One exact wording of a survey instrument, identified by the hash of its content."""

    __tablename__ = "instrument_version"
    __table_args__ = (
        sa.UniqueConstraint("instrument_key", "content_hash", name="uq_instrument_version"),
    )
    id: int | None = Field(default=None, primary_key=True)
    instrument_key: str = Field(max_length=80, index=True)
    content_hash: str = Field(max_length=64)
    title: str = Field(max_length=300)
    definition: dict[str, Any] = Field(sa_type=sa.JSON, nullable=False)
    created_at: dt.datetime = _created()


class SurveyWave(SQLModel, table=True):
    """A round of fieldwork: one instrument version, sent a fixed number of months after award,
    to the graduates of its programmes (``wave_programme``; none listed: every programme)
    whose award date falls in the cohort window."""

    __tablename__ = "survey_wave"
    __table_args__ = (
        _in("status", WAVE_STATUSES, "ck_wave_status"),
        sa.CheckConstraint("closes_on >= opens_on", name="ck_wave_dates"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    instrument_version_id: int = _fk("instrument_version.id")
    months_after_award: int = Field(ge=0, le=240)
    cohort_start: dt.date = Field(description="first award date covered")
    cohort_end: dt.date = Field(description="last award date covered")
    # Superseded by ``wave_programme`` (migration 0007 copied it there); no code reads it.
    programme_id: int | None = _fk("programme.id", nullable=True)
    opens_on: dt.date
    closes_on: dt.date
    status: str = Field(default="draft", max_length=20)
    launched_at: dt.datetime | None = _ts()
    # Population: holders only, or non-completers too (only where the instrument allows).
    include_non_completers: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # Reminder plan: at most ``max_reminders``, at least ``reminder_gap_days`` apart.
    max_reminders: int = Field(default=2, ge=0, le=10, sa_column_kwargs={"server_default": "2"})
    reminder_gap_days: int = Field(default=7, ge=1, le=90, sa_column_kwargs={"server_default": "7"})
    # Targets (domain.md section 4); NULL: the settings' defaults.
    response_rate_target: float | None = Field(default=None, gt=0, le=1)
    knowledge_rate_target: float | None = Field(default=None, gt=0, le=1)
    closed_at: dt.datetime | None = _ts()


class WaveProgramme(SQLModel, table=True):
    """A programme whose graduates a wave surveys."""

    __tablename__ = "wave_programme"
    wave_id: int = Field(foreign_key="survey_wave.id", primary_key=True, ondelete="CASCADE")
    programme_id: int = Field(foreign_key="programme.id", primary_key=True)


class Invitation(SQLModel, table=True):
    """A personal invitation: one learner, one wave, one secret link (only its hash is kept)."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.UniqueConstraint("wave_id", "learner_id", name="uq_invitation"),
        _in("skipped_reason", INVITATION_SKIP_REASONS, "ck_invitation_skipped_reason"),
    )
    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = _fk("survey_wave.id")
    learner_id: int = _fk("learner.id")
    enrolment_id: int = _fk("enrolment.id")
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime, nullable=False)
    language: str = Field(default="en", max_length=2)
    sent_at: dt.datetime | None = _ts()
    reminded_at: dt.datetime | None = _ts()
    reminders: int = Field(default=0, ge=0)
    opened_at: dt.datetime | None = _ts()
    submitted_at: dt.datetime | None = _ts()
    opted_out_at: dt.datetime | None = _ts()
    declined_at: dt.datetime | None = _ts()
    # Set by a launch for a graduate who will never be contacted (opted out, erased): the
    # invitation keeps them in the wave's denominator.
    skipped_reason: str | None = Field(default=None, max_length=20)
    # The mail server refused the address permanently (5xx): no more messages.
    bounced_at: dt.datetime | None = _ts()


class MailMessage(SQLModel, table=True):
    """The outbox: one planned message (the invitation, or reminder ``number``) of one
    invitation, with its send state. ``fieldwork/outbox.py`` claims, sends and marks these."""

    __tablename__ = "mail_message"
    __table_args__ = (
        sa.UniqueConstraint("invitation_id", "kind", "number", name="uq_mail_message"),
        _in("kind", MAIL_KINDS, "ck_mail_message_kind"),
        _in("status", MAIL_STATUSES, "ck_mail_message_status"),
        sa.Index("ix_mail_message_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = _fk("invitation.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)
    number: int = Field(default=0, ge=0, description="0 for the invitation, 1.. reminders")
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: dt.datetime | None = _ts()
    claim: str | None = Field(default=None, max_length=64, description="the batch that took it")
    claimed_at: dt.datetime | None = _ts()
    sent_at: dt.datetime | None = _ts()
    message_id: str | None = Field(default=None, max_length=300)
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: dt.datetime = _created()
    # Demo mode only (no SMTP server): what would have been sent, link included, for the
    # outbox page. Always NULL outside demo mode.
    preview: dict[str, Any] | None = _json()


class Response(SQLModel, table=True):
    """The current answers to one invitation; earlier versions live in ``response_revision``."""

    __tablename__ = "response"
    __table_args__ = (_in("status", RESPONSE_STATUSES, "ck_response_status"),)
    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int = Field(foreign_key="invitation.id", unique=True, nullable=False)
    instrument_version_id: int = _fk("instrument_version.id")
    answers: dict[str, Any] = Field(sa_type=sa.JSON, nullable=False)
    language: str = Field(default="en", max_length=2)
    status: str = Field(default="partial", max_length=20)
    revision: int = Field(default=1, ge=1)
    # Where the graduate is: {"notice": privacy-notice version consented to, "saved": ids of
    # the sections saved, "acknowledged": soft-required questions already nudged about}.
    progress: dict[str, Any] | None = _json()
    started_at: dt.datetime = _created()
    updated_at: dt.datetime = _created()
    submitted_at: dt.datetime | None = _ts()


class ResponseRevision(SQLModel, table=True):
    """Every saved state of a response, so revisions until the wave closes are traceable."""

    __tablename__ = "response_revision"
    __table_args__ = (sa.UniqueConstraint("response_id", "revision", name="uq_response_revision"),)
    id: int | None = Field(default=None, primary_key=True)
    response_id: int = _fk("response.id", ondelete="CASCADE")
    revision: int = Field(ge=1)
    answers: dict[str, Any] = Field(sa_type=sa.JSON, nullable=False)
    status: str = Field(max_length=20)
    saved_at: dt.datetime = _created()


class ResponseIdentifying(SQLModel, table=True):
    """Answers that identify a person at work (employer, job title), kept apart from the
    analysis answers as the instruments' privacy notice promises; removed on erasure."""

    __tablename__ = "response_identifying"
    response_id: int = Field(foreign_key="response.id", primary_key=True, ondelete="CASCADE")
    question_id: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=4000)
    saved_at: dt.datetime = _created()


class Outcome(SQLModel, table=True):
    """The canonical outcome of one learner in one wave, with where it came from."""

    __tablename__ = "outcome"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "wave_id", name="uq_outcome"),
        _in("activity", ACTIVITIES, "ck_outcome_activity"),
        _in("source", OUTCOME_SOURCES, "ck_outcome_source"),
    )
    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = _fk("learner.id")
    enrolment_id: int = _fk("enrolment.id")
    wave_id: int = _fk("survey_wave.id")
    response_id: int | None = _fk("response.id", nullable=True)
    source: str = Field(max_length=20)
    observed_on: dt.date
    activity: str = Field(max_length=30)
    hours_per_week: float | None = Field(default=None, ge=0, le=168)
    salary_annual: float | None = Field(default=None, ge=0, description="base currency")
    salary_excluded: bool = Field(default=False, description="outside floor/cap rules")
    occupation_isco: str | None = Field(default=None, max_length=4)
    industry_isic: str | None = Field(default=None, max_length=2)
    job_related: int | None = Field(default=None, ge=1, le=5)
    promoted: bool | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    nps: int | None = Field(default=None, ge=0, le=10)
    voice_meaningful: int | None = Field(default=None, ge=1, le=5)
    voice_future: int | None = Field(default=None, ge=1, le=5)
    voice_skills: int | None = Field(default=None, ge=1, le=5)
    months_to_first_job: float | None = Field(default=None, ge=0)
    job_search_censored: bool | None = None
    # Outcomes learned from another source (not the survey): who recorded it, when, and why.
    recorded_by: str | None = Field(default=None, max_length=320, description="staff e-mail")
    recorded_at: dt.datetime | None = _ts()
    note: str | None = Field(default=None, max_length=2000)


# --- staff and audit ------------------------------------------------------------------------


class StaffUser(SQLModel, table=True):
    """A staff account: administrators, managers and reviewers."""

    __tablename__ = "staff_user"
    __table_args__ = (_in("role", ROLES, "ck_staff_role"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=20)
    active: bool = True
    failed_signins: int = Field(default=0, ge=0)
    locked_until: dt.datetime | None = _ts()
    last_signin_at: dt.datetime | None = _ts()
    created_at: dt.datetime = _created()
    # Demo accounts exist only in demo mode (OUTCOMES_DEMO=on) and are refused outside it.
    is_demo: bool = False
    # A manager sees every programme only when this is set; no scope rows and no flag sees
    # nothing (fail closed, e.g. after a scoped programme was deleted).
    all_programmes: bool = False
    # Set when an administrator issued a password: the user must choose their own.
    must_change_password: bool = False
    password_changed_at: dt.datetime | None = _ts()
    # TOTP second factor: the shared secret, encrypted with a subkey of the secret key.
    totp_secret: str | None = Field(default=None, max_length=400)
    totp_enabled_at: dt.datetime | None = _ts()
    totp_last_step: int | None = Field(default=None, description="last TOTP time step used")


class StaffSessionRecord(SQLModel, table=True):
    """A server-side record of one staff sign-in: checked on every rerun, endable by admins."""

    __tablename__ = "staff_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    via: str = Field(max_length=20)
    started_at: dt.datetime = _created()
    last_seen_at: dt.datetime = _created()
    ended_at: dt.datetime | None = _ts()
    end_reason: str | None = Field(default=None, max_length=40)


class StaffRecoveryCode(SQLModel, table=True):
    """A one-time recovery code for a staff member's second factor, stored hashed."""

    __tablename__ = "staff_recovery_code"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=200)
    used_at: dt.datetime | None = _ts()


THROTTLE_SCOPES = ("account", "ip", "global", "link")


class SigninThrottle(SQLModel, table=True):
    """Windowed failed-sign-in counters: per e-mail (known or not), per client IP, global.

    ``key`` is a purpose-labelled HMAC of the e-mail or address (never the value itself),
    or ``"*"`` for the global counter.
    """

    __tablename__ = "signin_throttle"
    __table_args__ = (_in("scope", THROTTLE_SCOPES, "ck_signin_throttle_scope"),)
    scope: str = Field(max_length=20, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    failures: int = Field(default=0, ge=0)
    window_started_at: dt.datetime = _created()
    locked_until: dt.datetime | None = _ts()


class StaffProgrammeScope(SQLModel, table=True):
    """Limits a manager to named programmes; a manager with no rows sees every programme."""

    __tablename__ = "staff_programme_scope"
    user_id: int = Field(foreign_key="staff_user.id", primary_key=True, ondelete="CASCADE")
    programme_id: int = Field(foreign_key="programme.id", primary_key=True, ondelete="CASCADE")


class AuditEvent(SQLModel, table=True):
    """Append-only trace of who did what to which object, never the personal data itself."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    occurred_at: dt.datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )
    actor: str = Field(max_length=200)
    action: str = Field(max_length=60, index=True)
    object_type: str | None = Field(default=None, max_length=60)
    object_id: str | None = Field(default=None, max_length=100)
    detail: dict[str, Any] | None = _json()
    # Hash chain: SHA-256 over the previous event's chain_hash and this event's canonical
    # form (see ``outcomes.audit``); ``outcomes audit verify`` reports the first broken link.
    prev_hash: str | None = Field(default=None, max_length=64)
    chain_hash: str | None = Field(default=None, max_length=64)


# --- the analysis table (derived, kept fresh by triggers) ------------------------------------


class AnalysisRow(SQLModel, table=True):
    """One row per graduate of a wave's population, flattened for the metrics panel.

    Derived, never written by hand: ``analysis_table.refresh_analysis_rows`` rebuilds the rows
    that database triggers listed in ``analysis_stale`` (see migration 0002 and
    docs/architecture.md, "The analysis table"). It holds only what aggregation needs —
    no covariates and no identity — and references its sources by plain ids, without
    foreign keys, so that deleting a record never waits on it.
    """

    __tablename__ = "analysis_row"
    # Stored in (programme, cohort, wave) order — clustered on SQLite, which has no hash
    # aggregation: grouping by programme, or programme and cohort, then reads the table in
    # order instead of sorting a million rows (3.2 s down to 1.5 s at 1.57 million rows).
    __table_args__ = (
        sa.Index("ux_analysis_row_invitation", "invitation_id", unique=True),
        {"sqlite_with_rowid": False},
    )
    programme_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    cohort: int = Field(primary_key=True, description="year the qualifying enrolment ended")
    wave_id: int = Field(primary_key=True)
    invitation_id: int = Field(primary_key=True)
    treated: bool = Field(description="holds an active credential from that enrolment")
    invited: bool = Field(description="an invitation was sent")
    response_status: str | None = Field(default=None, max_length=20)
    known: bool
    activity: str = Field(max_length=30, description="'unknown' when no outcome is recorded")
    hours_per_week: float | None = None
    salary_annual: float | None = None
    salary_excluded: bool | None = None
    job_related: int | None = None
    satisfaction: int | None = None
    nps: int | None = None
    voice_meaningful: int | None = None
    voice_future: int | None = None
    voice_skills: int | None = None


class AnalysisStale(SQLModel, table=True):
    """Invitations whose analysis row must be rebuilt, listed by triggers on every write.

    Deliberately not unique: a writer always adds its own row, so a refresh that claims
    (deletes) the rows it can see never swallows the mark of a transaction still running.
    """

    __tablename__ = "analysis_stale"
    id: int | None = Field(default=None, primary_key=True)
    invitation_id: int


ANALYSIS_TABLES = (
    "programme",
    "learner",
    "enrolment",
    "credential",
    "survey_wave",
    "invitation",
    "response",
    "outcome",
)
IDENTITY_TABLES = ("learner_identity", "learner_external_id")
