"""The graduate's survey as a service: consent, sections saved as drafts, submit, revise.

Every write locks the invitation's row first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
transactions begin IMMEDIATE, one writer at a time), so two tabs, a double click or a retry
after a dropped connection are serialised and see each other's work: the final submit
happens once, and a second one is told it is already in.

The response row holds the current answers, their status (``partial`` until submitted,
``complete`` after) and ``progress`` (the privacy-notice version consented to, the sections
saved, the soft-required questions already nudged about). Every saved state is also kept in
``response_revision`` with its time. The canonical outcome (``outcome`` row, source
``survey``) is derived on submit and again on each revision after it.

Skip logic: a question is shown when its ``show_if`` holds over the answers so far; a question
whose condition reads a question of its own section is sent to the page too (the browser
shows or hides it as the graduate answers; without JavaScript it stays visible and an answer
to it is dropped if its condition turns out false). A section none of whose questions can be
shown is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from outcomes import audit
from outcomes.config import Settings
from outcomes.errors import NotFound, OutcomesError
from outcomes.fieldwork.forms import answers_from_form
from outcomes.fieldwork.links import LinkStatus, check_invitation
from outcomes.instruments.answers import AnswerMessage, validate_answers
from outcomes.instruments.canonical import CanonicalOutcome, derive_outcome
from outcomes.instruments.expressions import ExpressionError, evaluate, parse_expression, references
from outcomes.instruments.loading import instrument_from_definition
from outcomes.instruments.mapping import IDENTIFYING_FIELDS
from outcomes.instruments.schema import Instrument, Question, Section
from outcomes.store.tables import (
    Credential,
    Enrolment,
    InstrumentVersion,
    Invitation,
    Learner,
    LearnerIdentity,
    Outcome,
    Programme,
    Response,
    ResponseIdentifying,
    ResponseRevision,
    SurveyWave,
)
from outcomes.vocab import LANGUAGES, OUTCOME_MEASURES

GRADUATE_ACTOR = "graduate"


class SurveyRefused(OutcomesError):
    """The survey cannot be answered now (the wave closed, the link expired, an opt-out)."""

    def __init__(self, status: LinkStatus) -> None:
        super().__init__(f"This survey cannot be answered now ({status.value}).")
        self.status = status


class NotStarted(OutcomesError):
    """Answers arrived before the graduate accepted the privacy notice."""

    def __init__(self) -> None:
        super().__init__("The survey has not been started: accept the privacy notice first.")


@dataclass(frozen=True)
class CredentialRef:
    """A credential that put the graduate in the wave's population."""

    issued_on: dt.date
    status: str


@dataclass(frozen=True)
class Survey:
    """Everything a survey page shows about one invitation, read in one unit of work."""

    invitation_id: int
    instrument: Instrument
    instrument_version_id: int
    programme_title: dict[str, str]  # by language
    credentials: tuple[CredentialRef, ...]
    wave_name: str
    closes_on: dt.date
    language: str
    answers: dict[str, Any]
    status: str | None  # None: not started; "partial"; "complete"
    notice_version: str | None  # the privacy-notice version consented to
    saved: tuple[str, ...]
    acknowledged: tuple[str, ...]
    revision: int
    submitted_at: dt.datetime | None
    declined: bool

    @property
    def consented(self) -> bool:
        """True once the graduate accepted this instrument's privacy notice."""
        return self.notice_version == self.instrument.privacy_notice.version

    @property
    def submitted(self) -> bool:
        """True once the final submit went through (revisions keep it so)."""
        return self.status == "complete"

    @cached_property
    def cleaned(self) -> dict[str, Any]:
        """The valid, visible answers (what skip logic and the outcome read)."""
        return validate_answers(self.instrument, self.answers).cleaned

    def steps(self) -> list[Section]:
        """The sections this graduate answers, given the answers so far."""
        return list(self._steps)

    @cached_property
    def _steps(self) -> tuple[Section, ...]:
        return tuple(
            s for s in self.instrument.sections if _rendered(self.instrument, s, self.cleaned)
        )

    def rendered(self, section: Section) -> list[Question]:
        """The questions of ``section`` sent to the page (see ``rendered_questions``)."""
        return _rendered(self.instrument, section, self.cleaned)

    def total_steps(self) -> int:
        """How many sections to tell the graduate there are ("section 2 of 5").

        The sections they answer, plus those that still depend on an unanswered question
        (they may yet apply); always later than where the graduate is, so the count of the
        sections already seen never changes under them.
        """
        return len(self._steps) + len(_undecided(self.instrument, self.cleaned))

    def next_step(self) -> int | None:
        """Index (in ``steps``) of the first section not yet saved; None when all are."""
        for index, section in enumerate(self.steps()):
            if section.id not in self.saved:
                return index
        return None

    def programme(self, language: str) -> str:
        """The programme's title in ``language`` (English when there is no translation)."""
        return self.programme_title.get(language) or self.programme_title["en"]


@dataclass(frozen=True)
class SaveResult:
    """What saving one section led to."""

    accepted: bool  # True: the section is saved and the graduate moves on
    errors: tuple[AnswerMessage, ...]
    warnings: tuple[AnswerMessage, ...]
    survey: Survey  # the survey as it stands after the save


@dataclass(frozen=True)
class SubmitResult:
    """What the final submit led to: ``submitted``, ``already`` (in before) or ``incomplete``."""

    status: str
    first_incomplete: int | None = None


# --- pure helpers ---------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _condition(source: str) -> Any:
    return parse_expression(source)


def _refs(question: Question) -> tuple[str, ...]:
    if question.show_if is None:
        return ()
    try:
        return tuple(references(_condition(question.show_if)))
    except ExpressionError:
        return ()


def rendered_questions(
    instrument: Instrument, section: Section, answers: Mapping[str, Any]
) -> list[Question]:
    """The questions of ``section`` sent to the page, given the answers of earlier sections.

    A question whose condition reads questions of this same section is sent when those
    questions are (the browser then shows or hides it); any other condition is decided here.
    """
    return _rendered(instrument, section, validate_answers(instrument, dict(answers)).cleaned)


def _rendered(
    instrument: Instrument, section: Section, cleaned: Mapping[str, Any]
) -> list[Question]:
    own = {q.id for q in section.questions}
    shown: list[Question] = []
    for question in section.questions:
        if question.show_if is None:
            shown.append(question)
            continue
        on_page = own.intersection(_refs(question))
        if on_page:
            if on_page <= {q.id for q in shown}:
                shown.append(question)
            continue
        try:
            if evaluate(_condition(question.show_if), cleaned):
                shown.append(question)
        except ExpressionError:
            continue
    return shown


def applicable_sections(instrument: Instrument, answers: Mapping[str, Any]) -> list[Section]:
    """The sections with at least one question to show (the others are skipped)."""
    cleaned = validate_answers(instrument, dict(answers)).cleaned
    return [s for s in instrument.sections if _rendered(instrument, s, cleaned)]


def undecided_sections(instrument: Instrument, answers: Mapping[str, Any]) -> list[Section]:
    """Sections skipped for now only because a question their conditions read is unanswered."""
    return _undecided(instrument, validate_answers(instrument, dict(answers)).cleaned)


def _undecided(instrument: Instrument, cleaned: Mapping[str, Any]) -> list[Section]:
    skipped = [s for s in instrument.sections if not _rendered(instrument, s, cleaned)]
    undecided = []
    for section in skipped:
        own = {q.id for q in section.questions}
        outside = {r for q in section.questions for r in _refs(q)} - own
        if any(ref not in cleaned for ref in outside):
            undecided.append(section)
    return undecided


def section_by_id(instrument: Instrument, section_id: str) -> Section:
    """The section with this id, or ``NotFound``."""
    for section in instrument.sections:
        if section.id == section_id:
            return section
    raise NotFound(f"The survey has no section '{section_id}'.")


# --- reading --------------------------------------------------------------------------------


_INSTRUMENTS: dict[tuple[int, str], Instrument] = {}


def _load_instrument(session: Session, version_id: int) -> Instrument:
    """The instrument of a stored version, built once per process (versions never change).

    Only the version's content hash is read on each request; its definition (a few hundred
    kilobytes of JSON to decode and validate) only the first time that exact version is seen.
    """
    content_hash = session.execute(
        sa.select(col(InstrumentVersion.content_hash)).where(
            col(InstrumentVersion.id) == version_id
        )
    ).scalar_one_or_none()
    if content_hash is None:
        raise NotFound(f"No instrument version with id {version_id}.")
    key = (version_id, content_hash)
    found = _INSTRUMENTS.get(key)
    if found is None:
        definition = session.execute(
            sa.select(col(InstrumentVersion.definition)).where(
                col(InstrumentVersion.id) == version_id
            )
        ).scalar_one()
        found = instrument_from_definition(definition)
        if len(_INSTRUMENTS) > 256:
            _INSTRUMENTS.clear()
        _INSTRUMENTS[key] = found
    return found


def get_invitation(session: Session, invitation_id: int, *, lock: bool) -> Invitation:
    """The invitation, locked for the unit of work when ``lock``, or ``NotFound``."""
    statement = sa.select(Invitation).where(col(Invitation.id) == invitation_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    invitation = session.execute(statement).scalar_one_or_none()
    if invitation is None:
        raise NotFound(f"No invitation with id {invitation_id}.")
    return invitation


def _response(session: Session, invitation_id: int) -> Response | None:
    return session.execute(
        sa.select(Response).where(col(Response.invitation_id) == invitation_id)
    ).scalar_one_or_none()


def load_survey(session: Session, invitation_id: int) -> Survey:
    """The survey of one invitation as it stands."""
    invitation = get_invitation(session, invitation_id, lock=False)
    return _survey(session, invitation, _response(session, invitation_id))


def _survey(session: Session, invitation: Invitation, response: Response | None) -> Survey:
    assert invitation.id is not None
    # One statement for the wave and the programme: a survey page reads this on every step.
    frame = session.execute(
        sa.select(
            col(SurveyWave.name),
            col(SurveyWave.closes_on),
            col(SurveyWave.instrument_version_id),
            col(Programme.title),
            col(Programme.title_es),
        )
        .select_from(Enrolment)
        .join(Programme, col(Programme.id) == col(Enrolment.programme_id))
        .join(SurveyWave, col(SurveyWave.id) == invitation.wave_id)
        .where(col(Enrolment.id) == invitation.enrolment_id)
    ).one_or_none()
    if frame is None:
        raise NotFound(f"Invitation {invitation.id} has no wave, enrolment or programme.")
    wave_name, closes_on, wave_version, title, title_es = frame
    version_id = response.instrument_version_id if response else wave_version
    credentials = session.execute(
        sa.select(col(Credential.issued_on), col(Credential.status))
        .where(col(Credential.enrolment_id) == invitation.enrolment_id)
        .order_by(col(Credential.issued_on))
    ).all()
    progress = dict(response.progress or {}) if response else {}
    return Survey(
        invitation_id=invitation.id,
        instrument=_load_instrument(session, version_id),
        instrument_version_id=version_id,
        programme_title={"en": title, "es": title_es or title},
        credentials=tuple(CredentialRef(row[0], row[1]) for row in credentials),
        wave_name=wave_name,
        closes_on=closes_on,
        language=(response.language if response else invitation.language),
        answers={**response.answers, **_identifying(session, response.id)} if response else {},
        status=response.status if response else None,
        notice_version=progress.get("notice"),
        saved=tuple(progress.get("saved", ())),
        acknowledged=tuple(progress.get("acknowledged", ())),
        revision=response.revision if response else 0,
        submitted_at=response.submitted_at if response else None,
        declined=invitation.declined_at is not None,
    )


# --- writing --------------------------------------------------------------------------------


def _writable(session: Session, invitation_id: int, at: dt.datetime) -> Invitation:
    """The invitation, locked for this unit of work, or ``SurveyRefused``."""
    invitation = get_invitation(session, invitation_id, lock=True)
    status = check_invitation(session, invitation, at)
    if status is not LinkStatus.OPEN:
        raise SurveyRefused(status)
    return invitation


def _language(language: str) -> str:
    return language if language in LANGUAGES else "en"


def identifying_questions(instrument: Instrument) -> frozenset[str]:
    """Ids of the questions whose answers identify a person at work (employer, job title)."""
    return frozenset(q.id for q in instrument.questions() if q.canonical in IDENTIFYING_FIELDS)


def _identifying(session: Session, response_id: int | None) -> dict[str, str]:
    if response_id is None:
        return {}
    rows = session.execute(
        sa.select(col(ResponseIdentifying.question_id), col(ResponseIdentifying.value)).where(
            col(ResponseIdentifying.response_id) == response_id
        )
    ).all()
    return {question: value for question, value in rows}


def _keep(
    session: Session,
    response: Response,
    instrument: Instrument,
    answers: dict[str, Any],
    progress: dict[str, Any],
    at: dt.datetime,
) -> None:
    """Store a new state of the response and keep it as a revision.

    Answers naming an employer or a job title go to ``response_identifying``, never into
    the answers or their revisions (the privacy notice promises they are kept apart).
    """
    apart_ids = identifying_questions(instrument)
    apart = {k: v for k, v in answers.items() if k in apart_ids}
    answers = {k: v for k, v in answers.items() if k not in apart_ids}
    response.answers = answers
    response.progress = progress
    response.revision += 1
    response.updated_at = at
    session.add(response)
    session.flush()
    assert response.id is not None
    if apart_ids:
        session.execute(
            sa.delete(ResponseIdentifying).where(
                col(ResponseIdentifying.response_id) == response.id
            )
        )
        for question_id, value in apart.items():
            session.add(
                ResponseIdentifying(
                    response_id=response.id, question_id=question_id, value=str(value), saved_at=at
                )
            )
    session.add(
        ResponseRevision(
            response_id=response.id,
            revision=response.revision,
            answers=answers,
            status=response.status,
            saved_at=at,
        )
    )


def consent(
    session: Session, invitation_id: int, at: dt.datetime, *, language: str = "en"
) -> Survey:
    """The graduate accepts the privacy notice and starts (again, after a decline)."""
    invitation = _writable(session, invitation_id, at)
    response = _response(session, invitation_id)
    wave = session.get(SurveyWave, invitation.wave_id)
    assert wave is not None
    if response is None:
        response = Response(
            invitation_id=invitation_id,
            instrument_version_id=wave.instrument_version_id,
            answers={},
            language=_language(language),
            status="partial",
            revision=0,
            started_at=at,
            updated_at=at,
        )
    survey = _survey(session, invitation, None if response.id is None else response)
    notice = survey.instrument.privacy_notice.version
    progress = dict(response.progress or {})
    if progress.get("notice") != notice:
        progress["notice"] = notice
        _keep(session, response, survey.instrument, dict(survey.answers), progress, at)
        learner = session.get(Learner, invitation.learner_id)
        if learner is not None:
            learner.consent_at = at
            learner.privacy_notice_version = notice
            session.add(learner)
    if invitation.declined_at is not None:
        invitation.declined_at = None
        session.add(invitation)
    session.flush()
    return _survey(session, invitation, response)


def decline(session: Session, invitation_id: int, at: dt.datetime) -> None:
    """The graduate declines this survey (no reminders follow; the link can still start it)."""
    invitation = _writable(session, invitation_id, at)
    if invitation.declined_at is None:
        invitation.declined_at = at
        session.add(invitation)
        audit.record(
            session,
            actor=GRADUATE_ACTOR,
            action="survey.declined",
            object_type="invitation",
            object_id=invitation_id,
        )


def save_section(
    session: Session,
    settings: Settings,
    invitation_id: int,
    section_id: str,
    form: Mapping[str, Sequence[str]],
    at: dt.datetime,
    *,
    language: str = "en",
) -> SaveResult:
    """Save one section's posted fields as a draft (or, after submit, as a revision).

    Only the fields of the questions the page showed are read (``forms.answers_from_form``).

    Valid answers are kept even when another answer on the page has an error, so nothing
    typed is lost; the section counts as saved (and the graduate moves on) only without
    errors and once any soft-required nudge has been shown.
    """
    invitation = _writable(session, invitation_id, at)
    response = _response(session, invitation_id)
    survey = _survey(session, invitation, response) if response else None
    if response is None or survey is None or not survey.consented:
        raise NotStarted()
    section = section_by_id(survey.instrument, section_id)
    own = {q.id for q in section.questions}
    merged = {k: v for k, v in survey.answers.items() if k not in own}
    merged.update(answers_from_form(survey.rendered(section), form))
    lang = _language(language)
    report = validate_answers(
        survey.instrument, merged, lang, acknowledged=frozenset(survey.acknowledged)
    )
    errors = tuple(m for m in report.errors if m.question_id in own)
    warnings = tuple(m for m in report.warnings if m.question_id in own)
    accepted = not errors and not warnings
    progress = dict(response.progress or {})
    acknowledged = [*survey.acknowledged, *(m.question_id for m in warnings)]
    progress["acknowledged"] = sorted(set(acknowledged))
    saved = [s for s in survey.saved if s != section_id]
    if accepted:
        saved.append(section_id)
    progress["saved"] = saved
    response.language = lang
    _keep(session, response, survey.instrument, report.cleaned, progress, at)
    if accepted and response.status == "complete":
        _derive(session, settings, invitation, response, survey.instrument, at)
    return SaveResult(accepted, errors, warnings, _survey(session, invitation, response))


def submit(
    session: Session, settings: Settings, invitation_id: int, at: dt.datetime
) -> SubmitResult:
    """The final submit: exactly once; a repeat is told the answers are already in."""
    invitation = _writable(session, invitation_id, at)
    response = _response(session, invitation_id)
    if response is None:
        raise NotStarted()
    survey = _survey(session, invitation, response)
    if response.status == "complete":
        return SubmitResult("already")
    pending = survey.next_step()
    report = validate_answers(survey.instrument, survey.answers, survey.language)
    if pending is not None or not report.complete or report.errors:
        first = pending
        if first is None:
            bad = {m.question_id for m in report.errors}
            first = next(
                (
                    i
                    for i, s in enumerate(survey.steps())
                    if bad.intersection(q.id for q in s.questions)
                ),
                0,
            )
        return SubmitResult("incomplete", first)
    response.status = "complete"
    response.submitted_at = at
    _keep(session, response, survey.instrument, report.cleaned, dict(response.progress or {}), at)
    invitation.submitted_at = invitation.submitted_at or at
    session.add(invitation)
    _derive(session, settings, invitation, response, survey.instrument, at)
    audit.record(
        session,
        actor=GRADUATE_ACTOR,
        action="survey.submitted",
        object_type="invitation",
        object_id=invitation_id,
    )
    return SubmitResult("submitted")


def opt_out(session: Session, invitation_id: int, at: dt.datetime, *, via: str) -> bool:
    """ "Don't contact me again": this invitation and every later one. True if newly done.

    Works whatever the wave's state (a graduate may opt out after it closed).
    """
    invitation = get_invitation(session, invitation_id, lock=True)
    changed = False
    if invitation.opted_out_at is None:
        invitation.opted_out_at = at
        session.add(invitation)
        changed = True
    identity = session.get(LearnerIdentity, invitation.learner_id)
    if identity is not None and identity.contact_opted_out_at is None:
        identity.contact_opted_out_at = at
        session.add(identity)
        changed = True
    if changed:
        audit.record(
            session,
            actor=GRADUATE_ACTOR,
            action="survey.opted_out",
            object_type="invitation",
            object_id=invitation_id,
            detail={"via": via},
        )
    return changed


# --- the canonical outcome ------------------------------------------------------------------


def _months_since_award(session: Session, invitation: Invitation, at: dt.datetime) -> float | None:
    issued = session.execute(
        sa.select(sa.func.min(col(Credential.issued_on))).where(
            col(Credential.enrolment_id) == invitation.enrolment_id
        )
    ).scalar_one_or_none()
    if issued is None:
        enrolment = session.get(Enrolment, invitation.enrolment_id)
        issued = enrolment.ended_on if enrolment else None
    if issued is None:
        return None
    return max((at.date() - issued).days / 30.4375, 0.0)


def outcome_values(canonical: CanonicalOutcome) -> dict[str, Any]:
    """The outcome table's measures from a derived canonical outcome."""
    return {name: getattr(canonical, name) for name in OUTCOME_MEASURES}


def _derive(
    session: Session,
    settings: Settings,
    invitation: Invitation,
    response: Response,
    instrument: Instrument,
    at: dt.datetime,
) -> None:
    """Write (or rewrite) the survey outcome of this learner in this wave."""
    canonical = derive_outcome(
        instrument,
        response.answers,
        settings,
        months_since_award=_months_since_award(session, invitation, at),
    )
    outcome = session.execute(
        sa.select(Outcome).where(
            col(Outcome.learner_id) == invitation.learner_id,
            col(Outcome.wave_id) == invitation.wave_id,
        )
    ).scalar_one_or_none()
    if outcome is None:
        outcome = Outcome(
            learner_id=invitation.learner_id,
            enrolment_id=invitation.enrolment_id,
            wave_id=invitation.wave_id,
            source="survey",
            observed_on=at.date(),
            activity=canonical.activity,
        )
    outcome.response_id = response.id
    if outcome.source != "survey":
        # The graduate's own answer takes precedence over other sources (fieldwork/sources.py);
        # what staff recorded about theirs no longer describes this row.
        outcome.recorded_by = outcome.recorded_at = outcome.note = None
    outcome.source = "survey"
    outcome.observed_on = at.date()
    for name, value in outcome_values(canonical).items():
        setattr(outcome, name, value)
    session.add(outcome)
