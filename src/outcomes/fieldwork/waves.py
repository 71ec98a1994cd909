"""Survey waves as a manager defines and launches them: create, list, show, launch, close.

A wave is an instrument version, a population (``fieldwork.population``), a timing (months
after award), open and close dates, a reminder plan and its own targets. It starts as a
draft; launching opens it and creates one invitation per member of its population who has
none yet — in one ``INSERT … SELECT``, so launching again (or after new credentials
arrived) adds only the missing ones. Members who must never be contacted (opted out of all
contact, or erased) get an invitation too, marked with ``skipped_reason``: they stay in the
wave's denominator and no message is ever planned for them. Closing stops answering (the
survey's link check refuses a closed wave) and cancels the wave's pending messages.

Managers act only on waves whose programmes are all in their scope (a wave of every
programme needs access to every programme); waves outside it are invisible to them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound, OutcomesError, ValidationProblem
from outcomes.fieldwork.population import (
    PopulationPreview,
    PopulationRule,
    population_query,
    preview_population,
    programme_codes,
    rule_for,
    skip_reason,
)
from outcomes.instruments.registry import load_shipped, survey_files
from outcomes.store.instrument_versions import ensure_instrument_version
from outcomes.store.tables import (
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerIdentity,
    MailMessage,
    Programme,
    SurveyWave,
    UTCDateTime,
    WaveProgramme,
    table_of,
    utcnow,
)

# Outbox rows a close cancels: planned and not handed to the mail server yet.
CANCELLED_ON_CLOSE = ("pending", "failed_temporary")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- input -----------------------------------------------------------------------------------


class WaveInputProblem(ValidationProblem):
    """A wave's input breaks its rules: one plain sentence per field (``problems``)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(" ".join(self.problems.values()))


# What each field must be, said once, for the errors pydantic finds (type, range, missing).
FIELD_RULES = {
    "instrument": "The instrument must be the key of a shipped instrument, such as follow-up-6m",
    "programmes": "The programmes must be a list of programme codes",
    "awarded_from": "The first award date must be a date written YYYY-MM-DD",
    "awarded_to": "The last award date must be a date written YYYY-MM-DD",
    "months": "The months after award must be a whole number from 0 to 240",
    "opens_on": "The opening date must be a date written YYYY-MM-DD",
    "closes_on": "The closing date must be a date written YYYY-MM-DD",
    "reminders": "The number of reminders must be a whole number from 0 to 10",
    "reminder_gap_days": "The gap between reminders must be a whole number of days from 1 to 90",
    "non_completers": "Whether to include non-completers must be true or false",
    "response_target": "The response-rate target must be a number above 0 and at most 1",
    "knowledge_target": "The knowledge-rate target must be a number above 0 and at most 1",
    "name": "The name must be at most 200 characters",
}


def _iso_date(value: object, name: str) -> object:
    """A ``YYYY-MM-DD`` string as a date (other values are left to the strict type check)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{FIELD_RULES[name]} (got {value!r}).") from None
    return value


class WaveCreate(BaseModel):
    """A new wave as typed in a form or on the command line (strict; unknown keys refused).

    Checks the shape here (types, ranges, dates in order); ``create_wave`` checks what needs
    the registry and the database (the instrument, the programmes, the name).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    instrument: str = Field(min_length=1, max_length=80)
    programmes: list[str] = Field(default_factory=list, description="codes; none: every one")
    awarded_from: dt.date
    awarded_to: dt.date
    months: int = Field(ge=0, le=240)
    opens_on: dt.date
    closes_on: dt.date
    reminders: int = Field(default=2, ge=0, le=10)
    reminder_gap_days: int = Field(default=7, ge=1, le=90)
    non_completers: bool = False
    response_target: float | None = Field(default=None, gt=0, le=1)
    knowledge_target: float | None = Field(default=None, gt=0, le=1)
    name: str | None = Field(default=None, max_length=200)

    @field_validator("awarded_from", "awarded_to", "opens_on", "closes_on", mode="before")
    @classmethod
    def _dates(cls, value: object, info: ValidationInfo) -> object:
        return _iso_date(value, str(info.field_name))

    @field_validator("instrument")
    @classmethod
    def _instrument(cls, value: str) -> str:
        return value.strip()

    @field_validator("programmes")
    @classmethod
    def _programmes(cls, value: list[str]) -> list[str]:
        codes = [code.strip() for code in value if code.strip()]
        return list(dict.fromkeys(codes))

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("awarded_to")
    @classmethod
    def _window_in_order(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("awarded_from")
        if isinstance(start, dt.date) and value < start:
            raise ValueError(f"The award window must not end ({value}) before it starts ({start}).")
        return value

    @field_validator("closes_on")
    @classmethod
    def _dates_in_order(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        opens = info.data.get("opens_on")
        if isinstance(opens, dt.date) and value < opens:
            raise ValueError(f"The wave must not close ({value}) before it opens ({opens}).")
        return value

    def default_name(self) -> str:
        """The name a wave gets when none is given: its instrument and award window."""
        return f"{self.instrument}, awarded {self.awarded_from} to {self.awarded_to}"


def _sentence(error: Any) -> tuple[str, str]:
    where = error.get("loc") or ()
    name = str(where[0]) if where else "wave"
    if error.get("type") == "extra_forbidden":
        return name, f"{name} is not a field of a wave."
    if error.get("type") == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        return name, message
    if error.get("type") == "missing":
        return name, f"{FIELD_RULES.get(name, name)}; it is missing."
    value = error.get("input")
    shown = "nothing" if value is None else repr(value)
    return name, f"{FIELD_RULES.get(name, name)} (got {shown})."


def parse_wave_input(raw: Mapping[str, Any]) -> WaveCreate:
    """``raw`` as a ``WaveCreate``, or ``WaveInputProblem`` with one sentence per field."""
    try:
        return WaveCreate.model_validate(dict(raw))
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            name, sentence = _sentence(error)
            problems.setdefault(name, sentence)  # the first problem of each field
        raise WaveInputProblem(problems) from None


# --- results ---------------------------------------------------------------------------------


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class WaveSummary:
    """A wave as staff see it.

    Attributes
    ----------
    programmes : codes of the programmes surveyed; empty means every programme.
    response_target, knowledge_target : the wave's own targets; None: the settings' default.
    invitations : invitations created so far (skipped ones included).
    """

    id: int
    name: str
    instrument: str
    instrument_version_id: int
    status: str
    programmes: tuple[str, ...]
    awarded_from: dt.date
    awarded_to: dt.date
    months: int
    opens_on: dt.date
    closes_on: dt.date
    reminders: int
    reminder_gap_days: int
    non_completers: bool
    response_target: float | None
    knowledge_target: float | None
    launched_at: dt.datetime | None
    closed_at: dt.datetime | None
    invitations: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        return {
            "id": self.id,
            "name": self.name,
            "instrument": self.instrument,
            "instrument_version_id": self.instrument_version_id,
            "status": self.status,
            "programmes": list(self.programmes),
            "awarded_from": _iso(self.awarded_from),
            "awarded_to": _iso(self.awarded_to),
            "months": self.months,
            "opens_on": _iso(self.opens_on),
            "closes_on": _iso(self.closes_on),
            "reminders": self.reminders,
            "reminder_gap_days": self.reminder_gap_days,
            "non_completers": self.non_completers,
            "response_target": self.response_target,
            "knowledge_target": self.knowledge_target,
            "launched_at": _iso(self.launched_at),
            "closed_at": _iso(self.closed_at),
            "invitations": self.invitations,
        }

    def line(self) -> str:
        """One line for a terminal: the id first."""
        programmes = ", ".join(self.programmes) or "every programme"
        return (
            f"{self.id}\t{self.name}\t{self.status}\t{self.instrument}\t{programmes}\t"
            f"awarded {self.awarded_from} to {self.awarded_to}\t"
            f"open {self.opens_on} to {self.closes_on}\t{self.invitations} invitations"
        )


@dataclass(frozen=True)
class WaveDetail:
    """One wave and its population preview (other parts may add figures beside them)."""

    wave: WaveSummary
    population: PopulationPreview
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The wave's fields, ``population``, and any extra sections (e.g. ``figures``)."""
        return {**self.wave.to_json(), "population": self.population.to_json(), **self.extra}


@dataclass(frozen=True)
class LaunchResult:
    """What one launch did.

    Attributes
    ----------
    added : sendable invitations created by this launch.
    skipped_opted_out, skipped_erased : invitations created as never to be contacted.
    already_there : invitations the wave held before this launch.
    invitations : the wave's invitations after it.
    """

    wave_id: int
    status: str
    added: int
    skipped_opted_out: int
    skipped_erased: int
    already_there: int
    invitations: int

    @property
    def created(self) -> int:
        """Every invitation this launch created."""
        return self.added + self.skipped_opted_out + self.skipped_erased

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "wave_id": self.wave_id,
            "status": self.status,
            "added": self.added,
            "skipped": {"opted_out": self.skipped_opted_out, "erased": self.skipped_erased},
            "already_there": self.already_there,
            "invitations": self.invitations,
        }

    def sentence(self) -> str:
        """What happened, in one sentence."""
        return (
            f"Wave {self.wave_id} is {self.status}: {self.added} invitations added, "
            f"{self.skipped_opted_out} skipped as opted out, {self.skipped_erased} skipped as "
            f"erased, {self.already_there} already there ({self.invitations} in all)."
        )


@dataclass(frozen=True)
class CloseResult:
    """What closing a wave did."""

    wave_id: int
    closed_at: dt.datetime
    cancelled_messages: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "wave_id": self.wave_id,
            "closed_at": self.closed_at.isoformat(),
            "cancelled_messages": self.cancelled_messages,
        }

    def sentence(self) -> str:
        """What happened, in one sentence."""
        return (
            f"Wave {self.wave_id} is closed: answering has stopped and "
            f"{self.cancelled_messages} pending messages were cancelled."
        )


# --- scope -----------------------------------------------------------------------------------


def in_scope(programme_ids: Collection[int], scope: Collection[int] | None) -> bool:
    """True when a viewer with ``scope`` (None: everything) may see and act on a wave of
    ``programme_ids`` (empty: every programme, which needs access to everything)."""
    if scope is None:
        return True
    return bool(programme_ids) and set(programme_ids) <= set(scope)


def _hidden(wave_id: int) -> NotFound:
    return NotFound(f"No survey wave with id {wave_id}.")


def _wave(
    session: Session, wave_id: int, scope: Collection[int] | None, *, lock: bool = False
) -> tuple[SurveyWave, tuple[int, ...]]:
    statement = sa.select(SurveyWave).where(col(SurveyWave.id) == wave_id)
    if lock:  # PostgreSQL: launches and closes of one wave run one at a time
        statement = statement.with_for_update()
    wave = session.execute(statement).scalar_one_or_none()
    if wave is None:
        raise _hidden(wave_id)
    programme_ids = _programmes_of(session, [wave_id]).get(wave_id, ())
    if not in_scope(programme_ids, scope):
        raise _hidden(wave_id)  # out of scope: as if it did not exist
    return wave, programme_ids


def _programmes_of(session: Session, wave_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
    rows = session.execute(
        sa.select(col(WaveProgramme.wave_id), col(WaveProgramme.programme_id))
        .where(col(WaveProgramme.wave_id).in_(list(wave_ids)))
        .order_by(col(WaveProgramme.wave_id), col(WaveProgramme.programme_id))
    ).all()
    found: dict[int, tuple[int, ...]] = {}
    for wave_id, programme_id in rows:
        found[int(wave_id)] = (*found.get(int(wave_id), ()), int(programme_id))
    return found


# --- reading ---------------------------------------------------------------------------------


def _summaries(session: Session, waves: list[SurveyWave]) -> list[WaveSummary]:
    ids = [w.id for w in waves if w.id is not None]
    programmes = _programmes_of(session, ids)
    codes = programme_codes(session, {p for ps in programmes.values() for p in ps})
    versions = dict(
        session.execute(
            sa.select(col(InstrumentVersion.id), col(InstrumentVersion.instrument_key)).where(
                col(InstrumentVersion.id).in_({w.instrument_version_id for w in waves})
            )
        ).all()
    )
    invitation = table_of(Invitation)
    counts = dict(
        session.execute(
            sa.select(invitation.c.wave_id, sa.func.count())
            .where(invitation.c.wave_id.in_(ids))
            .group_by(invitation.c.wave_id)
        ).all()
    )
    summaries = []
    for wave in waves:
        assert wave.id is not None
        summaries.append(
            WaveSummary(
                id=wave.id,
                name=wave.name,
                instrument=str(versions.get(wave.instrument_version_id, "")),
                instrument_version_id=wave.instrument_version_id,
                status=wave.status,
                programmes=tuple(sorted(codes[p] for p in programmes.get(wave.id, ()))),
                awarded_from=wave.cohort_start,
                awarded_to=wave.cohort_end,
                months=wave.months_after_award,
                opens_on=wave.opens_on,
                closes_on=wave.closes_on,
                reminders=wave.max_reminders,
                reminder_gap_days=wave.reminder_gap_days,
                non_completers=bool(wave.include_non_completers),
                response_target=wave.response_rate_target,
                knowledge_target=wave.knowledge_rate_target,
                launched_at=wave.launched_at,
                closed_at=wave.closed_at,
                invitations=int(counts.get(wave.id, 0)),
            )
        )
    return summaries


def list_waves(session: Session, *, scope: Collection[int] | None) -> list[WaveSummary]:
    """Every wave the viewer's scope covers, newest first."""
    waves = list(
        session.execute(sa.select(SurveyWave).order_by(col(SurveyWave.id).desc())).scalars()
    )
    programmes = _programmes_of(session, [w.id for w in waves if w.id is not None])
    visible = [w for w in waves if w.id and in_scope(programmes.get(w.id, ()), scope)]
    return _summaries(session, visible)


def show_wave(session: Session, wave_id: int, *, scope: Collection[int] | None) -> WaveDetail:
    """One wave with its population preview by programme."""
    wave, _ = _wave(session, wave_id, scope)
    [summary] = _summaries(session, [wave])
    return WaveDetail(summary, preview_population(session, rule_for(session, wave)))


@dataclass(frozen=True)
class WaveChoices:
    """What a new wave may be made of, for a viewer: instrument keys and programme codes."""

    instruments: tuple[str, ...]
    programmes: tuple[str, ...]


def wave_choices(session: Session, *, scope: Collection[int] | None) -> WaveChoices:
    """The shipped instruments and the programmes in ``scope`` (None: every programme)."""
    statement = sa.select(col(Programme.code)).order_by(col(Programme.code))
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    codes = tuple(str(code) for code in session.execute(statement).scalars())
    return WaveChoices(tuple(path.stem for path in survey_files()), codes)


# --- creating --------------------------------------------------------------------------------


def _resolve_programmes(session: Session, codes: list[str]) -> tuple[list[Programme], str | None]:
    found = {
        p.code: p
        for p in session.execute(
            sa.select(Programme).where(col(Programme.code).in_(codes))
        ).scalars()
    }
    missing = [code for code in codes if code not in found]
    if not missing:
        return [found[code] for code in codes], None
    if len(missing) == 1:
        return [], f"There is no programme with code {missing[0]}."
    return [], f"There are no programmes with codes {', '.join(missing)}."


def _name_taken(session: Session, name: str) -> bool:
    return (
        session.execute(
            sa.select(col(SurveyWave.id)).where(col(SurveyWave.name) == name)
        ).scalar_one_or_none()
        is not None
    )


def _free_default_name(session: Session, base: str) -> str:
    name, number = base, 1
    while _name_taken(session, name):
        number += 1
        name = f"{base} ({number})"
    return name


def create_wave(
    session: Session,
    data: WaveCreate,
    *,
    actor: str,
    scope: Collection[int] | None,
) -> WaveSummary:
    """Create a draft wave (audited); ``WaveInputProblem`` names every field that is wrong."""
    problems: dict[str, str] = {}
    instrument = None
    try:
        instrument = load_shipped(data.instrument)
    except OutcomesError as exc:
        problems["instrument"] = str(exc)
    programmes, missing = _resolve_programmes(session, data.programmes)
    if missing:
        problems["programmes"] = missing
    if data.non_completers and instrument is not None and not instrument.non_completers:
        problems["non_completers"] = (
            f"The instrument {data.instrument} is written for graduates who completed, so it "
            "cannot be sent to non-completers."
        )
    if data.name is not None and _name_taken(session, data.name):
        problems["name"] = f"A wave named '{data.name}' already exists; choose another name."
    if problems:
        raise WaveInputProblem(problems)
    assert instrument is not None
    programme_ids = [p.id for p in programmes if p.id is not None]
    if not in_scope(programme_ids, scope):
        if not programme_ids:
            raise AccessDenied(
                "A wave of every programme needs access to every programme; name the "
                "programmes to survey."
            )
        outside = sorted(p.code for p in programmes if p.id not in set(scope or ()))
        raise AccessDenied(
            f"You may only survey programmes in your scope, and {', '.join(outside)} "
            f"{'is' if len(outside) == 1 else 'are'} not."
        )
    version = ensure_instrument_version(session, instrument)
    assert version.id is not None
    wave = SurveyWave(
        name=data.name or _free_default_name(session, data.default_name()),
        instrument_version_id=version.id,
        months_after_award=data.months,
        cohort_start=data.awarded_from,
        cohort_end=data.awarded_to,
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        status="draft",
        include_non_completers=data.non_completers,
        max_reminders=data.reminders,
        reminder_gap_days=data.reminder_gap_days,
        response_rate_target=data.response_target,
        knowledge_rate_target=data.knowledge_target,
    )
    session.add(wave)
    session.flush()
    assert wave.id is not None
    for programme_id in programme_ids:
        session.add(WaveProgramme(wave_id=wave.id, programme_id=programme_id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="wave.created",
        object_type="survey_wave",
        object_id=wave.id,
        detail={
            "instrument": data.instrument,
            "instrument_version_id": version.id,
            "programmes": sorted(programme_ids),
            "awarded_from": data.awarded_from.isoformat(),
            "awarded_to": data.awarded_to.isoformat(),
            "months": data.months,
            "non_completers": data.non_completers,
        },
    )
    [summary] = _summaries(session, [wave])
    return summary


# --- launching and closing -------------------------------------------------------------------


def random_token_hash(dialect: str) -> sa.ColumnElement[str]:
    """A fresh random 64-hex ``token_hash`` per row, computed by the database.

    Why in SQL: a launch's invitations have no token anyone will ever see (a working link is
    minted later, replacing the hash; ``fieldwork.links``), so the stored value only has to
    be unique and match no token — the hash of a random value nobody holds does both.
    Drawing it in the database keeps the launch one ``INSERT … SELECT`` (no 200,000 values
    round-tripped through Python and joined back by row number). PostgreSQL: SHA-256 of two
    ``gen_random_uuid()`` (244 random bits from its strong generator, built in since 13);
    SQLite: ``randomblob(32)`` (256 bits from its ChaCha20 generator seeded by the OS).
    At these sizes a collision is beyond negligible (2^-200); were one to happen, the unique
    index refuses the launch and nothing is written, and the launch can simply be rerun.
    """
    if dialect == "postgresql":
        return sa.literal_column(
            "encode(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())), 'hex')",
            sa.String,
        )
    return sa.literal_column("lower(hex(randomblob(32)))", sa.String)


def invitation_expiry(settings: Settings, closes_on: dt.date, at: dt.datetime) -> dt.datetime:
    """When a launch's invitations expire: after ``invitation_valid_days``, or at the end of
    the close date if that comes first (a link minted later gets its own expiry)."""
    end_of_close = dt.datetime.combine(closes_on + dt.timedelta(days=1), dt.time(), dt.UTC)
    return min(at + dt.timedelta(days=settings.invitation_valid_days), end_of_close)


INVITATION_COLUMNS = (
    "wave_id",
    "learner_id",
    "enrolment_id",
    "token_hash",
    "expires_at",
    "language",
    "reminders",
    "skipped_reason",
)


def missing_invitations_insert(
    rule: PopulationRule, *, expires_at: dt.datetime, dialect: str
) -> sa.Insert:
    """The one ``INSERT … SELECT`` of a launch: an invitation for every population member
    without one in the wave yet (sendable or skipped, with the reason).

    Who is already invited is left out differently per engine, for the planner's sake. On
    SQLite a ``NOT EXISTS`` probes ``uq_invitation`` once per row. On PostgreSQL the same
    anti-join is planned from the table's statistics, and on a first launch those say
    "empty": it then seq-scans the table once per row, and as the statement's own new rows
    fill the pages (invisible to it, but read all the same) the launch turns quadratic —
    200,000 graduates took over ten minutes. ``ON CONFLICT (wave_id, learner_id) DO
    NOTHING`` asks the unique index instead, whatever the statistics say.
    """
    population = population_query(rule)
    learner, identity = table_of(Learner), table_of(LearnerIdentity)
    invitation = table_of(Invitation)
    rows = (
        sa.select(
            sa.literal_column(str(int(rule.wave_id)), sa.Integer),
            population.c.learner_id,
            population.c.enrolment_id,
            random_token_hash(dialect),
            sa.bindparam("expires_at", expires_at, type_=UTCDateTime()),
            learner.c.preferred_language,
            sa.literal_column("0", sa.Integer),
            skip_reason(learner, identity),
        )
        .select_from(population)
        .join(learner, learner.c.id == population.c.learner_id)
        .outerjoin(identity, identity.c.learner_id == population.c.learner_id)
    )
    if dialect == "postgresql":
        return (
            postgresql.insert(invitation)
            .from_select(list(INVITATION_COLUMNS), rows)
            .on_conflict_do_nothing(constraint="uq_invitation")
        )
    already = sa.exists().where(
        invitation.c.wave_id == rule.wave_id, invitation.c.learner_id == population.c.learner_id
    )
    return sa.insert(invitation).from_select(list(INVITATION_COLUMNS), rows.where(~already))


def _invitation_counts(session: Session, wave_id: int) -> dict[str | None, int]:
    invitation = table_of(Invitation)
    rows = session.execute(
        sa.select(invitation.c.skipped_reason, sa.func.count())
        .where(invitation.c.wave_id == wave_id)
        .group_by(invitation.c.skipped_reason)
    ).all()
    return {reason: int(n) for reason, n in rows}


def launch_wave(
    session: Session,
    settings: Settings,
    wave_id: int,
    *,
    actor: str,
    scope: Collection[int] | None,
    at: dt.datetime | None = None,
) -> LaunchResult:
    """Open the wave and create the missing invitations of its population (audited).

    One ``INSERT … SELECT`` for every kind of member (graduates, non-completers; sendable or
    skipped): the population query, minus those already invited. Idempotent.
    """
    at = at or utcnow()
    wave, _ = _wave(session, wave_id, scope, lock=True)
    if wave.status == "closed":
        raise ValidationProblem(f"Wave {wave_id} is closed; a closed wave cannot be launched.")
    if wave.closes_on < at.date():
        raise ValidationProblem(
            f"Wave {wave_id} closes on {wave.closes_on}, which has passed; it cannot be launched."
        )
    rule = rule_for(session, wave)
    before = _invitation_counts(session, wave_id)

    expires = invitation_expiry(settings, wave.closes_on, at)
    dialect = session.get_bind().dialect.name
    session.execute(missing_invitations_insert(rule, expires_at=expires, dialect=dialect))

    after = _invitation_counts(session, wave_id)
    if wave.status == "draft":
        wave.status = "open"
        wave.launched_at = at
        session.add(wave)
        session.flush()
    result = LaunchResult(
        wave_id=wave_id,
        status=wave.status,
        added=after.get(None, 0) - before.get(None, 0),
        skipped_opted_out=after.get("opted_out", 0) - before.get("opted_out", 0),
        skipped_erased=after.get("erased", 0) - before.get("erased", 0),
        already_there=sum(before.values()),
        invitations=sum(after.values()),
    )
    audit.record(
        session,
        actor=actor,
        action="wave.launched",
        object_type="survey_wave",
        object_id=wave_id,
        detail=result.to_json(),
    )
    return result


def close_wave(
    session: Session,
    wave_id: int,
    *,
    actor: str,
    scope: Collection[int] | None,
    at: dt.datetime | None = None,
) -> CloseResult:
    """Close the wave: answering stops, its pending messages are cancelled (audited)."""
    at = at or utcnow()
    wave, _ = _wave(session, wave_id, scope, lock=True)
    if wave.status == "closed":
        raise ValidationProblem(f"Wave {wave_id} is already closed.")
    wave.status = "closed"
    wave.closed_at = at
    session.add(wave)
    session.flush()
    message, invitation = table_of(MailMessage), table_of(Invitation)
    cancelled = session.execute(
        sa.update(message)
        .where(
            message.c.status.in_(CANCELLED_ON_CLOSE),
            message.c.invitation_id.in_(
                sa.select(invitation.c.id).where(invitation.c.wave_id == wave_id)
            ),
        )
        .values(status="cancelled")
    )
    count = int(getattr(cancelled, "rowcount", 0) or 0)
    audit.record(
        session,
        actor=actor,
        action="wave.closed",
        object_type="survey_wave",
        object_id=wave_id,
        detail={"cancelled_messages": count},
    )
    return CloseResult(wave_id=wave_id, closed_at=at, cancelled_messages=count)
