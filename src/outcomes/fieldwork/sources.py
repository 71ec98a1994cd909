"""Outcomes learned from other sources: staff record what an employer, a public profile or a
phone call told them (domain.md section 4, knowledge rate).

An other-source outcome is an ``outcome`` row like a survey's, with ``source`` in
``vocab.OTHER_OUTCOME_SOURCES``, the staff e-mail that recorded it, when, and a note. It is
written for the learner's invitation in the wave (its enrolment), so it belongs to the wave's
population: it counts as *known* (knowledge rate) but never as a response (response rate
counts complete survey responses only), and the analysis frame carries its ``source``.

Rules, and why:

- The graduate's own survey answer is never overwritten by another source (and a later
  survey submit replaces an other-source outcome: ``survey._derive``).
- Re-recording an other-source outcome replaces it only when asked (``replace=True``); the
  audit event keeps the source, activity and date before and after (never the salary).
- A salary is annualised and converted with the survey's own function
  (``instruments.canonical.annualise_salary``), so the floor applies the same way (kept, but
  excluded). Where a survey answer would silently lose the amount (no exchange rate, hourly
  pay without hours), staff are told instead: they can fix their input, a graduate cannot.
- Managers record only for graduates whose invitation's programme is in their scope.

``OtherOutcome`` is the strict input model; ``record_other_outcome`` writes one;
``outcomes.fieldwork.sources_csv`` imports many, all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes import audit
from outcomes.access import permissions
from outcomes.access.staff import NO_PROGRAMMES, user_by_email, viewer_scope
from outcomes.config import Settings
from outcomes.errors import AccessDenied, NotFound
from outcomes.fieldwork.source_rules import (
    LearnerKey,
    OtherOutcome,
    OutcomeRefused,
    Problem,
    check_in_context,
    outcome_measures,
    parse_outcome,
    problems_from,
)
from outcomes.store.tables import (
    Credential,
    Enrolment,
    Invitation,
    Learner,
    LearnerExternalId,
    LearnerIdentity,
    Outcome,
    Programme,
    StaffUser,
    SurveyWave,
    table_of,
)
from outcomes.vocab import OTHER_OUTCOME_SOURCES

__all__ = [  # the input model and its rules live in ``source_rules``; re-exported here
    "LearnerKey",
    "OtherOutcome",
    "OutcomeRefused",
    "Problem",
    "parse_outcome",
    "problems_from",
]

RECORD_ACTION = "sources.record"


# --- who records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorder:
    """Who records: their role and account (for the scope), e-mail (``recorded_by``) and the
    audit actor name."""

    role: str
    user_id: int | None
    email: str
    actor: str


def staff_recorder(session: Session, email: str, *, actor: str | None = None) -> Recorder:
    """The recorder for the active staff account with ``email`` (the command line's ``--by``)."""
    user = user_by_email(session, email)
    return account_recorder(session, user.id, actor=actor)


def account_recorder(
    session: Session, user_id: int | None, *, actor: str | None = None
) -> Recorder:
    """The recorder for the signed-in staff account ``user_id`` (its role as stored)."""
    user = session.get(StaffUser, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise AccessDenied("Only an active staff account records outcomes.")
    assert user.id is not None
    return Recorder(user.role, user.id, user.email, actor or audit.staff_actor(user.id))


def command_line_recorder() -> Recorder:
    """The recorder for the command line without ``--by``: the operator, whole institution."""
    actor = audit.cli_actor()
    return Recorder("admin", None, actor, actor)


def recorder_scope(session: Session, recorder: Recorder) -> set[int] | None:
    """The programmes ``recorder`` may record for (None: all), or ``AccessDenied``."""
    if not permissions.can(recorder.role, RECORD_ACTION):
        raise AccessDenied(
            "Recording outcomes from other sources is for administrators and managers."
        )
    if recorder.user_id is None:  # the command line's operator
        return None
    scope = viewer_scope(session, recorder.role, recorder.user_id)
    if scope is not None and not scope:
        raise AccessDenied(NO_PROGRAMMES)
    return scope


# --- finding graduates, waves and invitations: many in a few queries --------------------------

CHUNK = 500  # values per IN (…) list: well inside every engine's limit on bound parameters
_WHAT = {
    "any": "learner ref, external id or e-mail address",
    "ref": "learner ref",
    "external_id": "external id",
    "email": "e-mail address",
}


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


class LearnerLookup:
    """Graduates by learner ref, external id or e-mail (case-insensitive), for many keys at
    once: one query per kind of key and chunk, instead of three per row of an import."""

    def __init__(
        self,
        session: Session,
        keys: Iterable[tuple[LearnerKey, str]],
        *,
        scope: set[int] | None = None,
    ) -> None:
        """``scope``: programme ids; a graduate never enrolled on one of them is not found,
        exactly as one who does not exist (a manager learns nothing of other programmes)."""
        wanted = [(by, value.strip()) for by, value in keys]
        self._ref: dict[str, int] = {}
        self._external: dict[str, set[int]] = defaultdict(set)
        self._email: dict[str, set[int]] = defaultdict(set)
        ref, ext = col(Learner.ref), col(LearnerExternalId.value)
        email = sa.func.lower(col(LearnerIdentity.email))
        for chunk in _chunks(v for by, v in wanted if by in ("any", "ref")):
            rows = session.execute(sa.select(ref, col(Learner.id)).where(ref.in_(chunk)))
            self._ref.update((value, learner_id) for value, learner_id in rows)
        for chunk in _chunks(v for by, v in wanted if by in ("any", "external_id")):
            rows = session.execute(
                sa.select(ext, col(LearnerExternalId.learner_id)).where(ext.in_(chunk))
            )
            for value, learner_id in rows:
                self._external[value].add(learner_id)
        for chunk in _chunks(v.lower() for by, v in wanted if by in ("any", "email")):
            rows = session.execute(
                sa.select(email, col(LearnerIdentity.learner_id)).where(email.in_(chunk))
            )
            for value, learner_id in rows:
                self._email[value].add(learner_id)
        ids = set(self._ref.values()).union(*self._external.values(), *self._email.values())
        if scope is not None:
            ids = self._in_scope(session, ids, scope)
            self._ref = {value: i for value, i in self._ref.items() if i in ids}
            for found in (*self._external.values(), *self._email.values()):
                found &= ids
        self._learners: dict[int, Learner] = {}
        for chunk in _chunks(ids):
            for learner in session.execute(
                sa.select(Learner).where(col(Learner.id).in_(chunk))
            ).scalars():
                assert learner.id is not None
                self._learners[learner.id] = learner

    @staticmethod
    def _in_scope(session: Session, ids: set[int], scope: set[int]) -> set[int]:
        kept: set[int] = set()
        for chunk in _chunks(ids):
            kept.update(
                session.execute(
                    sa.select(col(Enrolment.learner_id))
                    .where(col(Enrolment.learner_id).in_(chunk))
                    .where(col(Enrolment.programme_id).in_(sorted(scope)))
                ).scalars()
            )
        return kept

    def find(self, by: LearnerKey, key: str) -> Learner | Problem:
        """The one graduate with this key (ref first, then external id, then e-mail)."""
        value = key.strip()
        ids: set[int] = set()
        if by in ("any", "ref") and value in self._ref:
            ids = {self._ref[value]}
        if not ids and by in ("any", "external_id"):
            ids = set(self._external.get(value, ()))
        if not ids and by in ("any", "email"):
            ids = set(self._email.get(value.lower(), ()))
        if not ids:
            return Problem("learner", f"No graduate has that {_WHAT[by]}.", "not_found")
        if len(ids) > 1:
            return Problem(
                "learner",
                f"{len(ids)} graduates have that {_WHAT[by]}: use the learner ref instead.",
            )
        learner = self._learners[ids.pop()]
        if learner.erased_at is not None:
            return Problem("learner", "That graduate's record was erased.", "not_found")
        return learner


class WaveLookup:
    """Survey waves by id or exact name, for many references at once."""

    def __init__(self, session: Session, refs: Iterable[int | str]) -> None:
        wanted = list(refs)
        self._by_id: dict[int, SurveyWave] = {}
        self._by_name: dict[str, SurveyWave] = {}
        for chunk in _chunks(r for r in wanted if isinstance(r, int)):
            for wave in session.execute(
                sa.select(SurveyWave).where(col(SurveyWave.id).in_(chunk))
            ).scalars():
                self._by_id[wave.id or 0] = wave
        for chunk in _chunks(r for r in wanted if isinstance(r, str)):
            for wave in session.execute(
                sa.select(SurveyWave).where(col(SurveyWave.name).in_(chunk))
            ).scalars():
                self._by_name[wave.name] = wave

    def find(self, ref: int | str) -> SurveyWave | Problem:
        """The wave, or a sentence saying there is none."""
        if isinstance(ref, int):
            found, described = self._by_id.get(ref), f"with id {ref}"
        else:
            found, described = self._by_name.get(ref), f"named '{ref}'"
        if found is None:
            return Problem("wave", f"There is no survey wave {described}.", "not_found")
        return found


@dataclass(frozen=True)
class Target:
    """A graduate's invitation in a wave, and what an outcome written for it must respect."""

    invitation_id: int
    enrolment_id: int
    programme_id: int
    programme: str
    awarded_on: dt.date | None  # the first credential's issue date (or the enrolment's end)
    existing_id: int | None  # the outcome already recorded for the learner in the wave
    existing_source: str | None
    existing_observed_on: dt.date | None


def find_targets(
    session: Session, pairs: Iterable[tuple[int, int]], *, lock: bool
) -> dict[tuple[int, int], Target]:
    """The invitation of each (learner id, wave id) that has one, with its programme, award
    date and any outcome already there. ``lock`` takes the invitations' rows for the unit of
    work, as a survey submit does (``survey.py``), so the two never interleave."""
    wanted = set(pairs)
    inv, enr, prog = table_of(Invitation), table_of(Enrolment), table_of(Programme)
    cred, out = table_of(Credential), table_of(Outcome)
    issued = (
        sa.select(sa.func.min(cred.c.issued_on))
        .where(cred.c.enrolment_id == enr.c.id)
        .scalar_subquery()
    )
    waves = sorted({wave for _, wave in wanted})
    found: dict[tuple[int, int], Target] = {}
    for chunk in _chunks(learner for learner, _ in wanted):
        statement = (
            sa.select(
                inv.c.learner_id,
                inv.c.wave_id,
                inv.c.id,
                inv.c.enrolment_id,
                prog.c.id,
                prog.c.code,
                sa.func.coalesce(issued, enr.c.ended_on, type_=sa.Date),
                out.c.id,
                out.c.source,
                out.c.observed_on,
            )
            .select_from(
                inv.join(enr, enr.c.id == inv.c.enrolment_id)
                .join(prog, prog.c.id == enr.c.programme_id)
                .outerjoin(
                    out,
                    sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id),
                )
            )
            .where(inv.c.learner_id.in_(chunk), inv.c.wave_id.in_(waves))
        )
        if lock:
            # Locked first, read after: on PostgreSQL each statement sees what was committed
            # when it began, so an outcome a survey submit wrote while we waited for its lock
            # is seen by the read below (a FOR UPDATE on the join would miss it).
            session.execute(
                sa.select(inv.c.id)
                .where(inv.c.learner_id.in_(chunk), inv.c.wave_id.in_(waves))
                .with_for_update()
            )
        for learner, wave, *rest in session.execute(statement):
            if (learner, wave) in wanted:
                found[(learner, wave)] = Target(*rest)
    return found


@dataclass(frozen=True)
class Planned:
    """An outcome checked against the records and ready to write."""

    outcome: OtherOutcome
    learner: Learner
    wave: SurveyWave
    target: Target
    values: dict[str, Any]  # the outcome row's measures
    observed_on: dt.date
    salary_note: str | None  # why a salary is kept but excluded (the floor), if it is


def decide(
    outcome: OtherOutcome,
    settings: Settings,
    *,
    learner: Learner,
    wave: SurveyWave,
    target: Target | None,
    scope: set[int] | None,
    today: dt.date,
    replace: bool,
) -> Planned | list[Problem]:
    """Whether ``outcome`` may be written for this graduate's invitation in ``wave`` (pure)."""
    if target is None:
        return [
            Problem(
                "wave",
                f"That graduate has no invitation in the wave '{wave.name}': record outcomes "
                "only for a wave's population.",
                "not_found",
            )
        ]
    if scope is not None and target.programme_id not in scope:
        return [Problem("learner", "That graduate's programme is not assigned to you.", "denied")]
    observed, problems = check_in_context(
        outcome, settings, awarded_on=target.awarded_on, today=today
    )
    if target.existing_source == "survey":
        problems.append(
            Problem(
                "",
                f"The graduate answered the survey of wave '{wave.name}' themselves; their own "
                "answer is never overwritten by another source.",
                "conflict",
            )
        )
    elif target.existing_source is not None and not replace:
        problems.append(
            Problem(
                "",
                f"An outcome from {target.existing_source} (observed "
                f"{target.existing_observed_on}) is already recorded for this graduate in wave "
                f"'{wave.name}': replace it explicitly to change it.",
                "conflict",
            )
        )
    if problems:
        return problems
    values, salary_note = outcome_measures(outcome, settings)
    return Planned(outcome, learner, wave, target, values, observed, salary_note)


def plan_outcomes(
    session: Session,
    settings: Settings,
    outcomes: Sequence[OtherOutcome],
    *,
    scope: set[int] | None,
    today: dt.date,
    replace: bool,
    lock: bool,
) -> list[Planned | list[Problem]]:
    """Check each outcome against the records, in a few queries whatever their number."""
    learners = LearnerLookup(session, ((o.learner_by, o.learner) for o in outcomes), scope=scope)
    waves = WaveLookup(session, (o.wave for o in outcomes))
    found = [(learners.find(o.learner_by, o.learner), waves.find(o.wave)) for o in outcomes]
    pairs = {
        (learner.id or 0, wave.id or 0)
        for learner, wave in found
        if isinstance(learner, Learner) and isinstance(wave, SurveyWave)
    }
    targets = find_targets(session, pairs, lock=lock)
    results: list[Planned | list[Problem]] = []
    for outcome, (learner, wave) in zip(outcomes, found, strict=True):
        if isinstance(learner, Problem) or isinstance(wave, Problem):
            results.append([p for p in (learner, wave) if isinstance(p, Problem)])
            continue
        target = targets.get((learner.id or 0, wave.id or 0))
        results.append(
            decide(
                outcome,
                settings,
                learner=learner,
                wave=wave,
                target=target,
                scope=scope,
                today=today,
                replace=replace,
            )
        )
    return results


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedOutcome:
    """An other-source outcome as written."""

    outcome_id: int
    learner_ref: str
    wave_id: int
    wave: str
    programme: str
    source: str
    observed_on: dt.date
    activity: str
    salary_annual: float | None
    salary_excluded: bool
    salary_note: str | None
    replaced: str | None  # the source of the outcome this one replaced, if any

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (dates as ISO text)."""
        return {
            "outcome_id": self.outcome_id,
            "learner_ref": self.learner_ref,
            "wave_id": self.wave_id,
            "wave": self.wave,
            "programme": self.programme,
            "source": self.source,
            "observed_on": self.observed_on.isoformat(),
            "activity": self.activity,
            "salary_annual": self.salary_annual,
            "salary_excluded": self.salary_excluded,
            "salary_note": self.salary_note,
            "replaced": self.replaced,
        }


def _summary(row: Outcome) -> dict[str, str]:
    return {"source": row.source, "activity": row.activity, "observed_on": str(row.observed_on)}


def write_planned(
    session: Session,
    planned: Sequence[Planned],
    recorder: Recorder,
    *,
    at: dt.datetime,
    via: str,
) -> list[RecordedOutcome]:
    """Write checked outcomes (insert, or replace an other-source one) in one flush; each is
    audited (who, learner ref, wave, source; before and after for a replacement)."""
    replaced: dict[int, Outcome] = {}
    for chunk in _chunks(p.target.existing_id for p in planned if p.target.existing_id):
        for row in session.execute(sa.select(Outcome).where(col(Outcome.id).in_(chunk))).scalars():
            replaced[row.id or 0] = row
    written: list[tuple[Planned, Outcome, dict[str, str] | None]] = []
    for plan in planned:
        existing = replaced.get(plan.target.existing_id or 0)
        before = _summary(existing) if existing is not None else None
        row = existing or Outcome(
            learner_id=plan.learner.id or 0,
            enrolment_id=plan.target.enrolment_id,
            wave_id=plan.wave.id or 0,
            source=plan.outcome.source,
            observed_on=plan.observed_on,
            activity=plan.outcome.activity,
        )
        row.enrolment_id = plan.target.enrolment_id
        row.response_id = None
        row.source = plan.outcome.source
        row.observed_on = plan.observed_on
        for name, value in plan.values.items():
            setattr(row, name, value)
        row.recorded_by = recorder.email[:320]
        row.recorded_at = at
        row.note = plan.outcome.note
        session.add(row)
        written.append((plan, row, before))
    session.flush()  # one batch of INSERTs (and UPDATEs), their ids back
    results = []
    for plan, row, before in written:
        assert row.id is not None
        detail: dict[str, Any] = {
            "learner_ref": plan.learner.ref,
            "wave_id": row.wave_id,
            "source": row.source,
            "via": via,
        }
        if before is not None:
            detail.update(before=before, after=_summary(row))
        audit.record(
            session,
            actor=recorder.actor,
            action="outcome.replaced" if before is not None else "outcome.recorded",
            object_type="outcome",
            object_id=row.id,
            detail=detail,
        )
        results.append(
            RecordedOutcome(
                outcome_id=row.id,
                learner_ref=plan.learner.ref,
                wave_id=row.wave_id,
                wave=plan.wave.name,
                programme=plan.target.programme,
                source=row.source,
                observed_on=row.observed_on,
                activity=row.activity,
                salary_annual=row.salary_annual,
                salary_excluded=row.salary_excluded,
                salary_note=plan.salary_note,
                replaced=None if before is None else before["source"],
            )
        )
    return results


def refusal(problems: list[Problem]) -> Exception:
    """The error to raise for ``problems``: access, absence, or invalid input."""
    if any(p.kind == "denied" for p in problems):
        return AccessDenied(" ".join(p.message for p in problems if p.kind == "denied"))
    if any(p.kind == "not_found" for p in problems):
        return NotFound(" ".join(p.message for p in problems if p.kind == "not_found"))
    return OutcomeRefused(problems)


def record_other_outcome(
    session: Session,
    settings: Settings,
    outcome: OtherOutcome,
    *,
    recorder: Recorder,
    at: dt.datetime,
    replace: bool = False,
    via: str = "page",
) -> RecordedOutcome:
    """Record one outcome learned elsewhere for a graduate's invitation in a wave; audited."""
    scope = recorder_scope(session, recorder)
    [planned] = plan_outcomes(
        session, settings, [outcome], scope=scope, today=at.date(), replace=replace, lock=True
    )
    if isinstance(planned, list):
        raise refusal(planned)
    [recorded] = write_planned(session, [planned], recorder, at=at, via=via)
    return recorded


# --- reading --------------------------------------------------------------------------------------


def list_other_outcomes(
    session: Session,
    *,
    recorder: Recorder,
    wave: int | str | None = None,
    with_recorder: bool = False,
    limit: int | None = None,
) -> pd.DataFrame:
    """Other-source outcomes in the recorder's scope, newest first, at most ``limit`` (learner
    refs, no names or graduate e-mails; ``with_recorder`` adds the staff e-mail that recorded
    each)."""
    scope = recorder_scope(session, recorder)
    out, lrn, wav = table_of(Outcome), table_of(Learner), table_of(SurveyWave)
    enr, prog = table_of(Enrolment), table_of(Programme)
    columns = [
        out.c.id.label("outcome_id"),
        lrn.c.ref.label("learner_ref"),
        out.c.wave_id,
        wav.c.name.label("wave"),
        prog.c.code.label("programme"),
        out.c.source,
        out.c.observed_on,
        out.c.activity,
        out.c.hours_per_week,
        out.c.salary_annual,
        out.c.salary_excluded,
        out.c.occupation_isco,
        out.c.industry_isic,
        out.c.job_related,
        out.c.recorded_at,
        out.c.note,
    ]
    if with_recorder:
        columns.insert(-1, out.c.recorded_by)
    statement = (
        sa.select(*columns)
        .join(lrn, lrn.c.id == out.c.learner_id)
        .join(wav, wav.c.id == out.c.wave_id)
        .join(enr, enr.c.id == out.c.enrolment_id)
        .join(prog, prog.c.id == enr.c.programme_id)
        .where(out.c.source.in_(OTHER_OUTCOME_SOURCES))
        .order_by(out.c.recorded_at.desc(), out.c.id.desc())
    )
    if scope is not None:
        statement = statement.where(prog.c.id.in_(sorted(scope)))
    if wave is not None:
        ref: int | str = int(wave) if str(wave).isdigit() else wave
        found = WaveLookup(session, [ref]).find(ref)
        if isinstance(found, Problem):
            raise NotFound(found.message)
        statement = statement.where(out.c.wave_id == found.id)
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).all()
    names = [c.name for c in columns]
    return pd.DataFrame([tuple(r) for r in rows], columns=names)


@dataclass(frozen=True)
class WaveChoice:
    """A wave a found graduate is invited to, and what is already known there."""

    wave_id: int
    wave: str
    programme: str
    outcome_source: str | None  # the source of the outcome already recorded, if any


@dataclass(frozen=True)
class Graduate:
    """A graduate found for recording: their pseudonymous ref and their waves in scope."""

    learner_ref: str
    waves: tuple[WaveChoice, ...]


def find_graduate(
    session: Session, key: str, *, recorder: Recorder, by: LearnerKey = "any"
) -> Graduate:
    """The graduate with this ref, external id or e-mail, with their waves in scope."""
    scope = recorder_scope(session, recorder)
    found = LearnerLookup(session, [(by, key)], scope=scope).find(by, key)
    if isinstance(found, Problem):
        raise refusal([found])
    inv, enr, prog = table_of(Invitation), table_of(Enrolment), table_of(Programme)
    wav, out = table_of(SurveyWave), table_of(Outcome)
    statement = (
        sa.select(wav.c.id, wav.c.name, prog.c.id, prog.c.code, out.c.source)
        .select_from(inv)
        .join(wav, wav.c.id == inv.c.wave_id)
        .join(enr, enr.c.id == inv.c.enrolment_id)
        .join(prog, prog.c.id == enr.c.programme_id)
        .outerjoin(
            out, sa.and_(out.c.learner_id == inv.c.learner_id, out.c.wave_id == inv.c.wave_id)
        )
        .where(inv.c.learner_id == found.id)
        .order_by(wav.c.opens_on.desc(), wav.c.id.desc())
    )
    rows = session.execute(statement).all()
    waves = tuple(
        WaveChoice(wave_id, name, code, source)
        for wave_id, name, programme_id, code, source in rows
        if scope is None or programme_id in scope
    )
    if rows and not waves:
        raise AccessDenied("That graduate's programme is not assigned to you.")
    if not waves:
        raise NotFound("That graduate has no invitation in any wave yet.")
    return Graduate(found.ref, waves)
