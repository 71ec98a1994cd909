"""The credential record both importers produce, and the report types an import returns.

A CSV row and an Open Badges 3.0 credential become the same :class:`CredentialRecord`: the
award (its external id, dates, grade, status), the programme it belongs to (by code and/or
Open Badges achievement id, optionally with the EU elements needed to create it), the learner
(external ids, e-mail, names, preferred language) and the enrolment it completed. Every record
carries its :class:`Origin` (file and line, or file and JSON path) so that a report names
where each problem came from.

The importers parse; ``records.importing`` plans and applies. Models are strict and frozen:
a record is built from already-typed values (dates as ``datetime.date``), never coerced.
Additive changes only: the Open Badges importer builds on these names.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from outcomes.vocab import CREDENTIAL_SOURCES, ENROLMENT_STATUSES, LANGUAGES, PARTICIPATION_FORMS

CredentialStatus = Literal["active", "revoked"]
EnrolmentStatus = Literal["completed", "withdrawn", "in_progress"]
RecordSource = Literal["csv", "open_badges", "manual", "demo"]
Language = Literal["en", "es"]
ParticipationForm = Literal["online", "onsite", "blended"]

# Kept in step with the vocabularies the schema's CHECK constraints read.
assert set(EnrolmentStatus.__args__) == set(ENROLMENT_STATUSES)  # type: ignore[attr-defined]
assert set(RecordSource.__args__) == set(CREDENTIAL_SOURCES)  # type: ignore[attr-defined]
assert set(Language.__args__) == set(LANGUAGES)  # type: ignore[attr-defined]
assert set(ParticipationForm.__args__) == set(PARTICIPATION_FORMS)  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Origin(_Strict):
    """Where a record (or a problem) came from: a file and a line, or a file and a JSON path."""

    file: str = Field(description="the input's file name as given (no directory needed)")
    line: int | None = Field(default=None, ge=1, description="CSV: the header is line 1")
    pointer: str | None = Field(default=None, description="JSON: a path, e.g. $.credentialSubject")

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}, line {self.line}"
        if self.pointer:
            return f"{self.file} at {self.pointer}"
        return self.file


class ExternalId(_Strict):
    """An identifier of the learner in another system: ``scheme`` names the system."""

    scheme: str = Field(min_length=1, max_length=60, description="e.g. student_id, email, did")
    value: str = Field(min_length=1, max_length=500)


class LearnerRef(_Strict):
    """Who earned the credential, as the input names them.

    Matched by external id first, then by e-mail. Contact data (e-mail, names, language) is
    written to ``learner_identity`` (and the language to ``learner.preferred_language``, which
    is not identifying), never to the pseudonymous ``learner`` row.
    """

    external_ids: tuple[ExternalId, ...] = ()
    email: str | None = Field(default=None, max_length=320)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    preferred_language: Language | None = None

    @model_validator(mode="after")
    def _identifiable(self) -> LearnerRef:
        if not self.external_ids and not self.email:
            raise ValueError("the learner has neither an external id nor an e-mail address")
        return self


class ProgrammeRef(_Strict):
    """The programme a credential belongs to: by code, by Open Badges achievement id, or both."""

    code: str | None = Field(default=None, min_length=1, max_length=40)
    achievement_id: str | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _named(self) -> ProgrammeRef:
        if self.code is None and self.achievement_id is None:
            raise ValueError("the programme has neither a code nor an achievement id")
        return self


class ProgrammeElements(_Strict):
    """The EU elements (Annex I) needed to create a programme the database does not have.

    Carried by a record only when its input describes the programme (an Open Badges
    achievement does; a CSV row normally does not). Field names follow ``store.tables.Programme``.
    """

    title: str = Field(min_length=1, max_length=300)
    awarding_body: str = Field(min_length=1, max_length=300)
    issuer_country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    learning_outcomes: str = Field(min_length=1)
    ects: float = Field(gt=0, le=300)
    eqf_level: int | None = Field(default=None, ge=1, le=8, description="None: not applicable")
    assessment_type: str = Field(min_length=1, max_length=200)
    participation_form: ParticipationForm
    quality_assurance: str = Field(min_length=1, max_length=300)
    field_of_study: str = Field(min_length=1, max_length=200)
    prerequisites: str | None = None
    stackability: str | None = None
    # Mandatory elements the input did not state, held by stand-ins: a programme created from
    # such elements is a draft until staff complete it on the Programmes page.
    stood_in: tuple[str, ...] = ()


class EnrolmentFacts(_Strict):
    """The enrolment the credential completed."""

    started_on: dt.date | None = Field(
        default=None, description="None: the importer uses the issue date"
    )
    ended_on: dt.date | None = Field(default=None, description="None: the issue date")
    status: EnrolmentStatus = "completed"


class CredentialRecord(_Strict):
    """One award as an importer read it, before it is matched against the database."""

    origin: Origin
    credential_id: str = Field(min_length=1, max_length=500, description="external id")
    programme: ProgrammeRef
    programme_elements: ProgrammeElements | None = None
    learner: LearnerRef
    enrolment: EnrolmentFacts = EnrolmentFacts()
    issued_on: dt.date
    grade: str | None = Field(default=None, max_length=60)
    status: CredentialStatus = "active"
    revoked_on: dt.date | None = None
    expires_on: dt.date | None = Field(
        default=None, description="read and compared, not stored: the schema has no column"
    )
    source: RecordSource = "csv"

    @model_validator(mode="after")
    def _consistent(self) -> CredentialRecord:
        if self.revoked_on is not None and self.status != "revoked":
            raise ValueError("a revocation date is given but the status is not revoked")
        started = self.enrolment.started_on
        ended = self.enrolment.ended_on or self.issued_on
        if started is not None and ended < started:
            raise ValueError("the enrolment ends before it starts")
        return self


class Problem(_Strict):
    """Why one record (or one field of it) cannot be imported: shown as one sentence."""

    origin: Origin
    field: str | None = Field(description="the column or JSON field; None for the whole record")
    value: str | None = Field(default=None, description="the offending value, shortened")
    reason: str

    def sentence(self) -> str:
        """The problem as one plain sentence, naming where, what and why."""
        where = str(self.origin)
        if self.field is None:
            return f"{where}: {self.reason}."
        shown = "" if self.value is None else f" {_short(self.value)!r}"
        return f"{where}: {self.field}{shown}: {self.reason}."


class Conflict(_Strict):
    """One credential id used by several records of the same input that do not agree."""

    id: str = Field(description="the external credential id")
    origins: tuple[Origin, ...]
    differences: tuple[str, ...] = Field(description="the fields whose values differ")

    def sentence(self) -> str:
        """The conflict as one plain sentence."""
        where = "; ".join(str(o) for o in self.origins)
        what = ", ".join(self.differences)
        return f"Credential id {_short(self.id)!r} is used by {where} with different {what}."


class Change(_Strict):
    """An existing credential an import updates, with the fields that change."""

    credential_id: str
    origin: Origin
    fields: tuple[str, ...]


class ImportSummary(_Strict):
    """What an import did (or, in a dry run or a refused import, would do)."""

    added: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    rejected: int = Field(default=0, ge=0)
    conflicts: int = Field(default=0, ge=0)

    def sentence(self) -> str:
        """The closing summary line."""
        return (
            f"{self.added:,} added, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.rejected:,} rejected, {self.conflicts:,} conflicts."
        )


def _short(value: str, limit: int = 80) -> str:
    # Long or control-laden values are shown shortened and inert: a report is read by people.
    cleaned = value.replace("\x00", "\\x00")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
