"""The population of a survey wave, as one query: who a launch invites, and its preview.

A wave surveys, in its programmes (``wave_programme``; none listed: every programme):

- **graduates**: learners holding an active credential (status ``active``, never revoked)
  whose award date (``credential.issued_on``) falls in ``[cohort_start, cohort_end]``;
- **non-completers**, only when the wave asks for them (``include_non_completers``) *and*
  its instrument allows it (the instrument's top-level ``non_completers: true``):
  withdrawn enrolments whose end date (``enrolment.ended_on``) falls in the same window.

One invitation per learner per wave (``uq_invitation``), so a learner with several qualifying
records is counted once, on one record chosen by this rule (the tie-break):

1. a credential before a withdrawn enrolment (someone who graduated in the window is
   surveyed as a graduate, even if they also withdrew from another programme);
2. then the latest date (award date, or the withdrawal's end date);
3. then the highest record id (the most recently recorded), so the choice is deterministic.

The chosen record's enrolment is the invitation's ``enrolment_id`` and its programme is the
one the preview counts the learner under. Everything here is a query the database runs as
a whole (a window function over a ``UNION ALL``): no row comes back to Python to be chosen,
so a launch can insert the population with one ``INSERT … SELECT``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes.store.tables import (
    Credential,
    Enrolment,
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerIdentity,
    Programme,
    SurveyWave,
    WaveProgramme,
    table_of,
)

# The record kinds, in the order the tie-break prefers them.
GRADUATE = 0
NON_COMPLETER = 1
# Where a population member stands before a launch (the preview's columns).
STATES = ("to_invite", "skipped_opted_out", "skipped_erased", "already_invited")


@dataclass(frozen=True)
class PopulationRule:
    """What defines a wave's population (read from the wave; pure data).

    ``programme_ids`` empty means every programme. ``non_completers`` is the effective
    choice: the wave asked for them and its instrument allows it.
    """

    wave_id: int
    cohort_start: dt.date
    cohort_end: dt.date
    programme_ids: tuple[int, ...] = ()
    non_completers: bool = False


def instrument_allows_non_completers(definition: dict[str, Any]) -> bool:
    """True when a stored instrument definition says it may be sent to non-completers."""
    return definition.get("non_completers") is True


def wave_programme_ids(session: Session, wave_id: int) -> tuple[int, ...]:
    """The programmes a wave surveys, sorted (empty: every programme)."""
    ids = session.execute(
        sa.select(col(WaveProgramme.programme_id))
        .where(col(WaveProgramme.wave_id) == wave_id)
        .order_by(col(WaveProgramme.programme_id))
    ).scalars()
    return tuple(ids)


def rule_for(session: Session, wave: SurveyWave) -> PopulationRule:
    """The population rule of a stored wave."""
    assert wave.id is not None
    version = session.get(InstrumentVersion, wave.instrument_version_id)
    allowed = version is not None and instrument_allows_non_completers(version.definition)
    return PopulationRule(
        wave_id=wave.id,
        cohort_start=wave.cohort_start,
        cohort_end=wave.cohort_end,
        programme_ids=wave_programme_ids(session, wave.id),
        non_completers=bool(wave.include_non_completers) and allowed,
    )


def population_query(rule: PopulationRule) -> sa.Subquery:
    """One row per learner of the population: learner_id, enrolment_id, programme_id, kind.

    ``kind`` is ``GRADUATE`` or ``NON_COMPLETER``; the tie-break of the module docstring
    picks the row when a learner qualifies more than once.
    """
    credential, enrolment = table_of(Credential), table_of(Enrolment)
    graduates = sa.select(
        credential.c.learner_id,
        credential.c.enrolment_id,
        credential.c.programme_id,
        sa.literal_column(str(GRADUATE), sa.Integer).label("kind"),
        credential.c.issued_on.label("qualified_on"),
        credential.c.id.label("record_id"),
    ).where(
        credential.c.status == "active",
        credential.c.revoked_on.is_(None),
        credential.c.issued_on.between(rule.cohort_start, rule.cohort_end),
    )
    if rule.programme_ids:
        graduates = graduates.where(credential.c.programme_id.in_(rule.programme_ids))
    candidates: sa.Select[Any] | sa.CompoundSelect = graduates
    if rule.non_completers:
        withdrawn = sa.select(
            enrolment.c.learner_id,
            enrolment.c.id.label("enrolment_id"),
            enrolment.c.programme_id,
            sa.literal_column(str(NON_COMPLETER), sa.Integer).label("kind"),
            enrolment.c.ended_on.label("qualified_on"),
            enrolment.c.id.label("record_id"),
        ).where(
            enrolment.c.status == "withdrawn",
            enrolment.c.ended_on.between(rule.cohort_start, rule.cohort_end),
        )
        if rule.programme_ids:
            withdrawn = withdrawn.where(enrolment.c.programme_id.in_(rule.programme_ids))
        candidates = sa.union_all(graduates, withdrawn)
    candidate = candidates.subquery("candidate")
    rank = (
        sa.func.row_number()
        .over(
            partition_by=candidate.c.learner_id,
            order_by=(
                candidate.c.kind,
                candidate.c.qualified_on.desc(),
                candidate.c.record_id.desc(),
            ),
        )
        .label("choice")
    )
    ranked = sa.select(
        candidate.c.learner_id,
        candidate.c.enrolment_id,
        candidate.c.programme_id,
        candidate.c.kind,
        rank,
    ).subquery("ranked")
    return (
        sa.select(ranked.c.learner_id, ranked.c.enrolment_id, ranked.c.programme_id, ranked.c.kind)
        .where(ranked.c.choice == 1)
        .subquery("population")
    )


def skip_reason(learner: sa.Table, identity: sa.Table) -> sa.Case[Any]:
    """Why a population member is never contacted ('erased', 'opted_out'), else NULL.

    Erasure first: an anonymised learner has no identity row left to have opted out with.
    """
    return sa.case(
        (learner.c.erased_at.is_not(None), sa.literal_column("'erased'")),
        (identity.c.contact_opted_out_at.is_not(None), sa.literal_column("'opted_out'")),
        else_=sa.null(),
    )


def with_contact_state(rule: PopulationRule) -> sa.Select[Any]:
    """The population joined to what decides each member's invitation.

    Columns: learner_id, enrolment_id, programme_id, kind, language, skipped_reason (NULL
    for a sendable member) and invited (an invitation to this wave exists already).
    """
    population = population_query(rule)
    learner, identity = table_of(Learner), table_of(LearnerIdentity)
    invitation = table_of(Invitation)
    invited = (
        sa.exists()
        .where(
            invitation.c.wave_id == rule.wave_id,
            invitation.c.learner_id == population.c.learner_id,
        )
        .label("invited")
    )
    return (
        sa.select(
            population.c.learner_id,
            population.c.enrolment_id,
            population.c.programme_id,
            population.c.kind,
            learner.c.preferred_language.label("language"),
            skip_reason(learner, identity).label("skipped_reason"),
            invited,
        )
        .select_from(population)
        .join(learner, learner.c.id == population.c.learner_id)
        .outerjoin(identity, identity.c.learner_id == population.c.learner_id)
    )


@dataclass(frozen=True)
class ProgrammePopulation:
    """One programme's part of a wave's population, by where its members stand.

    Attributes
    ----------
    to_invite : members a launch would add and who may be contacted.
    skipped_opted_out, skipped_erased : members a launch would add as never to be contacted
        (``invitation.skipped_reason``); they stay in the wave's denominator.
    already_invited : members who already have an invitation to this wave.
    """

    programme_id: int
    code: str
    to_invite: int = 0
    skipped_opted_out: int = 0
    skipped_erased: int = 0
    already_invited: int = 0

    @property
    def total(self) -> int:
        """The programme's population: everyone, invited or not, skipped or not."""
        return self.to_invite + self.skipped_opted_out + self.skipped_erased + self.already_invited

    @property
    def to_add(self) -> int:
        """How many invitations a launch would create now (skipped ones included)."""
        return self.to_invite + self.skipped_opted_out + self.skipped_erased

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "programme_id": self.programme_id,
            "programme": self.code,
            **{state: getattr(self, state) for state in STATES},
            "total": self.total,
        }


@dataclass(frozen=True)
class PopulationPreview:
    """A wave's population before (or between) launches, by programme."""

    wave_id: int
    programmes: tuple[ProgrammePopulation, ...] = field(default_factory=tuple)

    def count(self, state: str) -> int:
        """The total of one of ``STATES`` over every programme."""
        return sum(int(getattr(row, state)) for row in self.programmes)

    @property
    def total(self) -> int:
        """The whole population."""
        return sum(row.total for row in self.programmes)

    @property
    def to_add(self) -> int:
        """How many invitations a launch would create now."""
        return sum(row.to_add for row in self.programmes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the totals and one entry per programme."""
        return {
            "total": self.total,
            **{state: self.count(state) for state in STATES},
            "by_programme": [row.to_json() for row in self.programmes],
        }


def _state_of(skipped_reason: str | None, invited: bool) -> str:
    if invited:
        return "already_invited"
    if skipped_reason is not None:
        return f"skipped_{skipped_reason}"
    return "to_invite"


def preview_population(session: Session, rule: PopulationRule) -> PopulationPreview:
    """The population size by programme, split by ``STATES``, counted in the database.

    Every programme the wave names is listed, with zeros when it has nobody in the window.
    """
    members = with_contact_state(rule).subquery("member")
    grouped = session.execute(
        sa.select(
            members.c.programme_id,
            members.c.skipped_reason,
            members.c.invited,
            sa.func.count().label("n"),
        ).group_by(members.c.programme_id, members.c.skipped_reason, members.c.invited)
    ).all()
    counts: dict[int, dict[str, int]] = {pid: {} for pid in rule.programme_ids}
    for programme_id, reason, invited, n in grouped:
        state = _state_of(reason, bool(invited))
        row = counts.setdefault(int(programme_id), {})
        row[state] = row.get(state, 0) + int(n)
    codes = programme_codes(session, counts)
    rows = tuple(
        ProgrammePopulation(programme_id=pid, code=codes.get(pid, str(pid)), **counts[pid])
        for pid in sorted(counts, key=lambda pid: codes.get(pid, str(pid)))
    )
    return PopulationPreview(wave_id=rule.wave_id, programmes=rows)


def programme_codes(session: Session, ids: Collection[int]) -> dict[int, str]:
    """Programme id → code for ``ids``."""
    if not ids:
        return {}
    found = session.execute(
        sa.select(col(Programme.id), col(Programme.code)).where(col(Programme.id).in_(list(ids)))
    ).all()
    return {int(pid): str(code) for pid, code in found}
