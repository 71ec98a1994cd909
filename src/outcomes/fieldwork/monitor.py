"""The fieldwork monitor: a wave's counts, response and knowledge rates, targets, by day.

Counts come from a few aggregate queries grouped by programme (an invitation belongs to the
programme of its enrolment), never from loading rows; everything after that is pure
(:func:`figures_from_counts`, :func:`rate`, :func:`targets`), so it is tested on plain
numbers. Definitions (domain.md section 4; the states as the brief of issue 13 reads them):

- population: every invitation of the wave, skipped ones included (the knowledge rate's
  denominator); invited: those not skipped (contactable; the response rate's denominator);
- complete: a response with status ``complete`` or ``invitation.submitted_at`` set;
- known: complete, or an outcome of the graduate in the wave (any source) whose activity is
  not "unknown"; other sources count toward knowledge, never toward response;
- response rate = complete ÷ invited; knowledge rate = known ÷ population, each with a
  Wilson score interval and compared with the wave's target (the settings' default when the
  wave sets none).

Staff with exact-count rights (``figures.exact``) read the figures as counted; any other
role reads them through :class:`~outcomes.analysis.publication.Publication` (counts rounded,
small ones withheld, rates withheld on small bases), as the impact dashboard does.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outcomes.access import permissions
from outcomes.access.staff import assigned_scope
from outcomes.analysis.disclosure import DisclosurePolicy
from outcomes.analysis.intervals import WILSON, wilson_interval
from outcomes.analysis.publication import Publication, Withheld
from outcomes.config import Settings
from outcomes.errors import NotFound
from outcomes.fieldwork.outbox import GAVE_UP
from outcomes.store.engine import session_scope
from outcomes.store.frames import read_frame
from outcomes.store.tables import (
    Enrolment,
    Invitation,
    LearnerIdentity,
    MailMessage,
    Outcome,
    Programme,
    Response,
    SurveyWave,
    WaveProgramme,
    table_of,
)
from outcomes.vocab import INVITATION_SKIP_REASONS, OTHER_OUTCOME_SOURCES

CONFIDENCE = 0.95
# The counts of one programme (or the wave), in the order the monitor's table shows them.
COUNTS = (
    "population",
    "invited",
    "sent",
    "bounced",
    "undelivered",
    "opened",
    "partial",
    "complete",
    "declined",
    "opted_out",
    "other_source",
    "known",
    "skipped",
    *(f"skipped_{reason}" for reason in INVITATION_SKIP_REASONS),
)
DAY_SERIES = ("sent", "reminders", "completed")
TOTAL = "All programmes"


# --- the typed results -------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """How many invitations of one programme (or the wave) are in each state.

    ``None`` only under disclosure control: a count withheld because it is small.
    """

    population: int | None  # every invitation, skipped ones included
    invited: int | None  # not skipped: the graduates who may be contacted
    sent: int | None  # the first message was accepted by the mail server
    bounced: int | None  # the server refused the address permanently
    # a message whose delivery is uncertain (its sender died handing it over) or was given up
    # after the retry cap: staff may reissue the link (docs/fieldwork.md, E-mail)
    undelivered: int | None
    opened: int | None  # the personal link was opened
    partial: int | None  # a response saved but not submitted
    complete: int | None  # a response submitted
    declined: int | None  # said no to the survey
    opted_out: int | None  # asked not to be contacted (before launch or since)
    other_source: int | None  # an outcome recorded by staff from another source
    known: int | None  # complete, or a known outcome from any source
    skipped: int | None  # never contacted (every reason)
    skipped_opted_out: int | None
    skipped_erased: int | None

    @property
    def skipped_by_reason(self) -> dict[str, int | None]:
        """Skipped invitations by reason (``vocab.INVITATION_SKIP_REASONS``)."""
        return {reason: getattr(self, f"skipped_{reason}") for reason in INVITATION_SKIP_REASONS}


@dataclass(frozen=True)
class Rate:
    """A rate with its Wilson interval, compared with its target.

    ``estimate`` and the interval are ``None`` when the denominator is 0, or when the rate is
    withheld under disclosure control.
    """

    numerator: int | None
    denominator: int | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    target: float
    confidence: float = CONFIDENCE
    method: str = WILSON

    @property
    def met(self) -> bool | None:
        """True when the estimate reaches the target; None when there is no estimate."""
        return None if self.estimate is None else self.estimate >= self.target


@dataclass(frozen=True)
class ProgrammeFigures:
    """The monitor's row for one programme, or for the wave (``programme_id`` None)."""

    programme_id: int | None
    code: str
    title: str
    counts: Counts
    response_rate: Rate  # complete ÷ invited
    knowledge_rate: Rate  # known ÷ population


@dataclass(frozen=True)
class DayFigures:
    """What happened on one day (UTC): first messages sent, reminders sent, completions."""

    day: dt.date
    sent: int | None
    reminders: int | None
    completed: int | None


@dataclass(frozen=True)
class Targets:
    """The targets a wave is compared with, and where each came from ("wave" or "settings")."""

    response_rate: float
    knowledge_rate: float
    response_rate_from: str
    knowledge_rate_from: str


@dataclass(frozen=True)
class WaveFigures:
    """The fieldwork monitor of one wave, as one viewer may read it.

    ``programmes`` are the programmes in the viewer's scope that the wave surveys or invited
    someone from; ``wave`` sums them (under a scope, only the viewer's programmes).
    """

    wave_id: int
    name: str
    status: str
    opens_on: dt.date
    closes_on: dt.date
    targets: Targets
    programmes: tuple[ProgrammeFigures, ...]
    wave: ProgrammeFigures
    by_day: tuple[DayFigures, ...]
    scoped: bool  # True when only some programmes are counted (a manager's scope)
    exact: bool = True
    disclosure: str | None = None  # the rules applied, when not exact

    def table(self) -> pd.DataFrame:
        """One row per programme and a last row for the wave: every count and both rates."""
        return pd.DataFrame([_row(p) for p in (*self.programmes, self.wave)])

    def by_day_frame(self) -> pd.DataFrame:
        """Sends, reminders and completions per day, long (day, series, count) for a chart."""
        rows = [
            {"day": pd.Timestamp(d.day), "series": series, "count": getattr(d, series)}
            for d in self.by_day
            for series in DAY_SERIES
            if getattr(d, series) is not None
        ]
        return pd.DataFrame(rows, columns=["day", "series", "count"])

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (dates as ISO strings; withheld figures and no estimate as null)."""
        data = asdict(self)
        for figures, source in zip(
            (*data["programmes"], data["wave"]), (*self.programmes, self.wave), strict=True
        ):
            for name in ("response_rate", "knowledge_rate"):
                figures[name]["met"] = getattr(source, name).met
            figures["counts"]["skipped_by_reason"] = source.counts.skipped_by_reason
        return _jsonable(data)  # type: ignore[no-any-return]

    def published(self, publication: Publication) -> WaveFigures:
        """These figures as ``publication`` lets a viewer read them (unchanged when exact)."""
        if not publication.is_controlled:
            return self
        return replace(
            self,
            programmes=tuple(_published(p, publication) for p in self.programmes),
            wave=_published(self.wave, publication),
            by_day=tuple(
                DayFigures(
                    d.day,
                    *(_count(getattr(d, series), publication) for series in DAY_SERIES),
                )
                for d in self.by_day
            ),
            exact=False,
            disclosure=publication.statement(),
        )


@dataclass(frozen=True)
class WaveChoice:
    """A wave the monitor can show to a viewer."""

    wave_id: int
    name: str
    status: str
    opens_on: dt.date
    closes_on: dt.date

    @property
    def label(self) -> str:
        """How a chooser names it."""
        return f"{self.name} ({self.status}, {self.opens_on} to {self.closes_on})"


# --- the pure part -----------------------------------------------------------------------


def rate(
    numerator: int, denominator: int, *, target: float, confidence: float = CONFIDENCE
) -> Rate:
    """``numerator ÷ denominator`` with its Wilson score interval, against ``target``."""
    if denominator <= 0:
        return Rate(numerator, denominator, None, None, None, target, confidence)
    low, high = wilson_interval(numerator, denominator, confidence)
    return Rate(
        numerator,
        denominator,
        numerator / denominator,
        float(low),
        float(high),
        target,
        confidence,
    )


def targets(
    *, response_rate: float | None, knowledge_rate: float | None, settings: Settings
) -> Targets:
    """The wave's own targets, each falling back to the settings' default when unset."""
    return Targets(
        response_rate=settings.response_rate_target if response_rate is None else response_rate,
        knowledge_rate=settings.knowledge_rate_target if knowledge_rate is None else knowledge_rate,
        response_rate_from="settings" if response_rate is None else "wave",
        knowledge_rate_from="settings" if knowledge_rate is None else "wave",
    )


def programme_figures(
    counts: Counts,
    *,
    programme_id: int | None,
    code: str,
    title: str,
    goals: Targets,
    confidence: float = CONFIDENCE,
) -> ProgrammeFigures:
    """One row of the monitor from its (exact) counts: the rates, intervals and targets."""
    whole = {name: int(getattr(counts, name) or 0) for name in COUNTS}
    return ProgrammeFigures(
        programme_id,
        code,
        title,
        counts,
        rate(
            whole["complete"],
            whole["invited"],
            target=goals.response_rate,
            confidence=confidence,
        ),
        rate(
            whole["known"],
            whole["population"],
            target=goals.knowledge_rate,
            confidence=confidence,
        ),
    )


def figures_from_counts(
    frame: pd.DataFrame, *, goals: Targets, confidence: float = CONFIDENCE
) -> tuple[tuple[ProgrammeFigures, ...], ProgrammeFigures]:
    """The monitor's rows from a frame of counts (``programme_id``, ``code``, ``title`` and
    every name in :data:`COUNTS`, one row per programme), and the wave's row (their sums)."""

    def counts_of(values: pd.Series | dict[str, Any]) -> Counts:
        return Counts(**{name: int(values[name]) for name in COUNTS})

    rows = tuple(
        programme_figures(
            counts_of(row),
            programme_id=int(row["programme_id"]),
            code=str(row["code"]),
            title=str(row["title"]),
            goals=goals,
            confidence=confidence,
        )
        for _, row in frame.iterrows()
    )
    sums = {name: int(frame[name].sum()) if len(frame) else 0 for name in COUNTS}
    wave = programme_figures(
        counts_of(sums), programme_id=None, code=TOTAL, title=TOTAL, goals=goals
    )
    return rows, wave


def _count(value: int | None, publication: Publication) -> int | None:
    if value is None:
        return None
    shown = publication.count(value)
    return None if isinstance(shown, Withheld) else int(shown)


def _published_rate(exact: Rate, shown_numerator: int | None, publication: Publication) -> Rate:
    # A rate is withheld on a small base, and wherever its numerator is withheld (rate ×
    # base would reveal it); a shown one is rounded to whole percentages so that it cannot
    # give back the exact count behind a rounded one (as publishable_metrics_table does).
    base = exact.denominator or 0
    withheld = shown_numerator is None or not publication.shows_rate(base)
    if withheld or exact.estimate is None:
        estimate = low = high = None
    else:
        estimate, low, high = (
            round(v, 2) if v is not None else None
            for v in (exact.estimate, exact.ci_low, exact.ci_high)
        )
    return replace(
        exact,
        numerator=shown_numerator,
        denominator=_count(exact.denominator, publication),
        estimate=estimate,
        ci_low=low,
        ci_high=high,
    )


def _published(row: ProgrammeFigures, publication: Publication) -> ProgrammeFigures:
    counts = Counts(**{name: _count(getattr(row.counts, name), publication) for name in COUNTS})
    return replace(
        row,
        counts=counts,
        response_rate=_published_rate(row.response_rate, counts.complete, publication),
        knowledge_rate=_published_rate(row.knowledge_rate, counts.known, publication),
    )


def _row(figures: ProgrammeFigures) -> dict[str, Any]:
    row: dict[str, Any] = {"programme": figures.code}
    row.update({name: getattr(figures.counts, name) for name in COUNTS})
    for name in ("response_rate", "knowledge_rate"):
        value: Rate = getattr(figures, name)
        row[name] = value.estimate
        row[f"{name}_ci_low"] = value.ci_low
        row[f"{name}_ci_high"] = value.ci_high
        row[f"{name}_target"] = value.target
        row[f"{name}_met"] = value.met
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- the queries -------------------------------------------------------------------------


@contextmanager
def _reading(source: Session | Engine) -> Iterator[Session]:
    if not isinstance(source, Engine):
        yield source
        return
    with session_scope(source) as session:
        yield session


def _ids(scope: set[int] | None) -> list[int] | None:
    return None if scope is None else sorted(scope)


def _wave_in_scope(scope: set[int] | None) -> sa.ColumnElement[bool]:
    """A wave touches a scope when it surveys one of its programmes (or every programme, by
    listing none) or invited someone enrolled on one."""
    wave, wave_programme = table_of(SurveyWave), table_of(WaveProgramme)
    inv, enr = table_of(Invitation), table_of(Enrolment)
    ids = _ids(scope)
    if ids is None:
        return sa.true()
    return sa.or_(
        ~sa.exists().where(wave_programme.c.wave_id == wave.c.id),
        wave.c.id.in_(
            sa.select(wave_programme.c.wave_id).where(wave_programme.c.programme_id.in_(ids))
        ),
        wave.c.id.in_(
            sa.select(inv.c.wave_id)
            .join(enr, enr.c.id == inv.c.enrolment_id)
            .where(enr.c.programme_id.in_(ids))
        ),
    )


def monitor_waves(session: Session, *, scope: set[int] | None) -> tuple[WaveChoice, ...]:
    """The waves a viewer with ``scope`` may monitor, newest first (``None``: every wave)."""
    wave = table_of(SurveyWave)
    statement = (
        sa.select(wave.c.id, wave.c.name, wave.c.status, wave.c.opens_on, wave.c.closes_on)
        .where(_wave_in_scope(scope))
        .order_by(wave.c.opens_on.desc(), wave.c.id.desc())
    )
    return tuple(WaveChoice(*row) for row in session.execute(statement))


def _invitations_of(
    wave_id: int, scope: set[int] | None
) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]]:
    inv, enr = table_of(Invitation), table_of(Enrolment)
    where = [inv.c.wave_id == wave_id]
    ids = _ids(scope)
    if ids is not None:
        where.append(enr.c.programme_id.in_(ids))
    return inv.join(enr, enr.c.id == inv.c.enrolment_id), where


def count_frame(session: Session, wave_id: int, *, scope: set[int] | None) -> pd.DataFrame:
    """The counts of :data:`COUNTS` per programme of the wave, counted in the database."""
    inv, enr, prog = table_of(Invitation), table_of(Enrolment), table_of(Programme)
    resp, ident, out = table_of(Response), table_of(LearnerIdentity), table_of(Outcome)
    wave_programme, mail = table_of(WaveProgramme), table_of(MailMessage)
    complete = sa.or_(resp.c.status == "complete", inv.c.submitted_at.is_not(None))

    def outcome_where(*condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        # A correlated EXISTS, answered by the unique (learner_id, wave_id) index for each
        # invitation: an outer join here let PostgreSQL, with statistics not yet updated
        # after a launch's bulk insert, pick a nested loop over every outcome of the wave
        # for every invitation (141 s instead of 0.5 s at 200,000 invitations).
        return sa.exists().where(
            out.c.learner_id == inv.c.learner_id, out.c.wave_id == wave_id, *condition
        )

    states: dict[str, sa.ColumnElement[bool]] = {
        "invited": inv.c.skipped_reason.is_(None),
        "sent": inv.c.sent_at.is_not(None),
        "bounced": inv.c.bounced_at.is_not(None),
        "undelivered": sa.exists().where(
            mail.c.invitation_id == inv.c.id,
            sa.or_(
                mail.c.status == "uncertain",
                sa.and_(mail.c.status == "cancelled", mail.c.last_error.like(f"{GAVE_UP}%")),
            ),
        ),
        "opened": inv.c.opened_at.is_not(None),
        "partial": resp.c.status == "partial",
        "complete": complete,
        "declined": inv.c.declined_at.is_not(None),
        "opted_out": sa.or_(
            inv.c.opted_out_at.is_not(None),
            ident.c.contact_opted_out_at.is_not(None),
            inv.c.skipped_reason == "opted_out",
        ),
        "other_source": outcome_where(out.c.source.in_(OTHER_OUTCOME_SOURCES)),
        "known": sa.or_(complete, outcome_where(out.c.activity != "unknown")),
        "skipped": inv.c.skipped_reason.is_not(None),
        **{f"skipped_{r}": inv.c.skipped_reason == r for r in INVITATION_SKIP_REASONS},
    }
    joined, where = _invitations_of(wave_id, scope)
    joined = joined.outerjoin(resp, resp.c.invitation_id == inv.c.id).outerjoin(
        ident, ident.c.learner_id == inv.c.learner_id
    )
    # response.invitation_id and learner_identity.learner_id are unique: the outer joins
    # add no rows, so count(*) is the population.
    statement = (
        sa.select(
            enr.c.programme_id,
            sa.func.count().label("population"),
            *(sa.func.sum(sa.case((state, 1), else_=0)).label(n) for n, state in states.items()),
        )
        .select_from(joined)
        .where(*where)
        .group_by(enr.c.programme_id)
    )
    counted = read_frame(session, statement)
    # The programmes the wave names count even before anyone is invited from them.
    named = sa.select(wave_programme.c.programme_id).where(wave_programme.c.wave_id == wave_id)
    ids = _ids(scope)
    programmes = sa.select(prog.c.id.label("programme_id"), prog.c.code, prog.c.title).where(
        sa.or_(prog.c.id.in_(named), prog.c.id.in_([int(i) for i in counted["programme_id"]]))
    )
    if ids is not None:
        programmes = programmes.where(prog.c.id.in_(ids))
    frame = read_frame(session, programmes.order_by(prog.c.code)).merge(
        counted, on="programme_id", how="left"
    )
    for name in COUNTS:
        frame[name] = frame[name].fillna(0).astype("int64")
    return frame.reset_index(drop=True)


def _day(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # Timestamps are stored as naive UTC on both engines, so date() is the UTC day;
    # SQLite returns text, PostgreSQL a date (normalised in _days).
    return sa.func.date(column)


def _days(session: Session, statement: sa.Select[Any]) -> dict[dt.date, int]:
    return {
        dt.date.fromisoformat(str(day)[:10]): int(n)
        for day, n in session.execute(statement)
        if day is not None
    }


def by_day(session: Session, wave_id: int, *, scope: set[int] | None) -> tuple[DayFigures, ...]:
    """First messages sent, reminders sent and completions per UTC day, in day order.

    First messages are ``invitation.sent_at`` (so they add up to the sent count); reminders
    are the outbox's reminder messages with status sent; a completion is dated by the first
    submission (``invitation.submitted_at``, else the response's), so completions add up to
    the complete count.
    """
    inv, resp, mail = table_of(Invitation), table_of(Response), table_of(MailMessage)
    joined, where = _invitations_of(wave_id, scope)

    def per_day(when: sa.ColumnElement[Any], source: sa.FromClause, *more: Any) -> sa.Select[Any]:
        day = _day(when)
        return (
            sa.select(day.label("day"), sa.func.count())
            .select_from(source)
            .where(*where, *more)
            .group_by(day)
        )

    sent = _days(session, per_day(inv.c.sent_at, joined, inv.c.sent_at.is_not(None)))
    reminders = _days(
        session,
        per_day(
            mail.c.sent_at,
            joined.join(mail, mail.c.invitation_id == inv.c.id),
            mail.c.kind == "reminder",
            mail.c.status == "sent",
            mail.c.sent_at.is_not(None),
        ),
    )
    completed = _days(
        session,
        per_day(
            sa.func.coalesce(inv.c.submitted_at, resp.c.submitted_at, resp.c.updated_at),
            joined.outerjoin(resp, resp.c.invitation_id == inv.c.id),
            sa.or_(resp.c.status == "complete", inv.c.submitted_at.is_not(None)),
        ),
    )
    days = sorted(set(sent) | set(reminders) | set(completed))
    return tuple(
        DayFigures(day, sent.get(day, 0), reminders.get(day, 0), completed.get(day, 0))
        for day in days
    )


def wave_figures(
    source: Session | Engine, wave_id: int, *, scope: set[int] | None, settings: Settings
) -> WaveFigures:
    """The monitor of wave ``wave_id``, exact, counting only the programmes in ``scope``.

    ``scope`` None counts every programme. A wave that touches none of the scope's
    programmes is refused as if it did not exist.
    """
    with _reading(source) as session:
        if session.get_bind().dialect.name == "postgresql":
            # These are short aggregates whose estimated cost crosses PostgreSQL's JIT
            # threshold at a large wave: compiling them took 3 s of a 3.3 s count at
            # 200,000 invitations, running them 0.3 s (this transaction only).
            session.execute(sa.text("SET LOCAL jit = off"))
        wave = table_of(SurveyWave)
        found = session.execute(
            sa.select(wave).where(wave.c.id == wave_id, _wave_in_scope(scope))
        ).first()
        if found is None:
            raise NotFound(f"No survey wave with id {wave_id}.")
        goals = targets(
            response_rate=found.response_rate_target,
            knowledge_rate=found.knowledge_rate_target,
            settings=settings,
        )
        programmes, whole = figures_from_counts(
            count_frame(session, wave_id, scope=scope), goals=goals
        )
        days = by_day(session, wave_id, scope=scope)
    return WaveFigures(
        wave_id=wave_id,
        name=found.name,
        status=found.status,
        opens_on=found.opens_on,
        closes_on=found.closes_on,
        targets=goals,
        programmes=programmes,
        wave=whole,
        by_day=days,
        scoped=scope is not None,
    )


def publication_for(role: str, settings: Settings) -> Publication:
    """Exact for roles that read exact counts (``figures.exact``), else under control."""
    return Publication.for_viewer(
        exact=permissions.sees_exact_counts(role), policy=DisclosurePolicy.from_settings(settings)
    )


def viewer_wave_figures(
    session: Session, settings: Settings, *, wave_id: int, role: str, user_id: int | None
) -> WaveFigures:
    """The monitor of a wave as this viewer may read it: their scope, their disclosure."""
    scope = assigned_scope(session, role, user_id)
    return wave_figures(session, wave_id, scope=scope, settings=settings).published(
        publication_for(role, settings)
    )
