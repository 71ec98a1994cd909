"""An Open Badges 3.0 credential → the import core's :class:`CredentialRecord`.

Pure: a parsed, schema-valid credential in, a record (or the problems that stop one) out.
The field mapping is the table in ``docs/records.md``, "Importing Open Badges 3.0 credentials".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from outcomes.records.model import (
    CredentialRecord,
    EnrolmentFacts,
    ExternalId,
    LearnerRef,
    Origin,
    Problem,
    ProgrammeElements,
    ProgrammeRef,
)

SUBJECT_SCHEME = "open_badges_subject"
STUDENT_ID_SCHEME = "student_id"
# Dutch study load: one ECTS credit is 28 hours of study (WHW art. 7.4); Edubadges' SBU
# ("studiebelastingsuren") and timeInvestment are hours.
HOURS_PER_ECTS = 28.0
PARTICIPATION = {
    "online": "online",
    "onsite": "onsite",
    "blended": "blended",
    # Edubadges' vocabulary: "onsite or blended" is read as blended (it may be either; blended
    # claims the least), placements and volunteering happen on site.
    "onsite or blended": "blended",
    "work experience": "onsite",
    "volunteering": "onsite",
    "personalized learning activities": "blended",
}
STUDENT_ID_TYPES = {"studentid", "ext:studentid", "sissourcedid", "sourcedid"}
# Not identifiers to match people by, and personal data the learner tables do not need: a
# name is not unique, a national identity number is not ours to keep.
IGNORED_IDENTITY_TYPES = {"name", "nationalIdentityNumber"}
NOT_STATED = "not stated in the credential"


@dataclass(frozen=True)
class BadgeFacts:
    """What a credential says, flattened: the fields compared when ids are reused."""

    credential_id: str
    issuer_id: str | None
    issuer_name: str | None
    achievement_id: str
    achievement_name: str
    learner: str
    issued_on: dt.date | None
    grade: str | None
    credits: float | None
    eqf_level: int | None

    def compared(self) -> dict[str, object]:
        """The fields a conflict report names, by their reader-facing names."""
        return {
            "issuer id": self.issuer_id,
            "issuer name": self.issuer_name,
            "achievement id": self.achievement_id,
            "achievement name": self.achievement_name,
            "learner": self.learner,
            "issue date": self.issued_on,
            "grade": self.grade,
            "credits": self.credits,
            "EQF level": self.eqf_level,
        }


@dataclass(frozen=True)
class MappedBadge:
    """One credential mapped: the record (None when it cannot be built), its facts and notes.

    ``missing_elements`` names the mandatory EU elements the achievement does not state (a
    programme created from it has stand-ins for them, to be completed by a manager);
    ``notes`` are plain remarks for the report (credits converted from hours, a hashed
    identifier kept as such, a status list not checked).
    """

    origin: Origin
    record: CredentialRecord | None
    facts: BadgeFacts | None
    problems: tuple[Problem, ...] = ()
    missing_elements: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def map_credential(credential: dict[str, Any], origin: Origin, *, today: dt.date) -> MappedBadge:
    """The record for one schema-valid credential, or the problems that prevent it."""
    problems: list[Problem] = []
    notes: list[str] = []

    def problem(path: str, value: object, reason: str) -> None:
        shown = None if value is None else str(value)
        problems.append(Problem(origin=origin, field=path, value=shown, reason=reason))

    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    issuer = credential.get("issuer")
    issuer_profile = issuer if isinstance(issuer, dict) else {"id": issuer}
    credential_id = _text(credential.get("id"))

    issued_on, issued_path = _issue_date(credential, problem)
    expires_on = _date(credential.get("validUntil"), "$.validUntil", problem)
    learner, learner_text = _learner(subject, notes, problem)
    grade = _grade(subject, achievement)
    credits, credit_note = _credits(achievement, subject)
    if credit_note:
        notes.append(credit_note)
    eqf = _eqf(achievement, problem)
    status_list = credential.get("credentialStatus")
    if isinstance(status_list, dict):
        notes.append(
            f"revocation is published at {status_list.get('id')!s} "
            f"({status_list.get('type')!s}); not checked, the credential is imported as active"
        )
    if expires_on is not None and expires_on < today:
        notes.append(f"expired on {expires_on.isoformat()} (validUntil)")

    elements, missing = _elements(achievement, issuer_profile, credits, eqf)
    facts = BadgeFacts(
        credential_id=credential_id,
        issuer_id=_text(issuer_profile.get("id")) or None,
        issuer_name=_text(issuer_profile.get("name")).strip() or None,
        achievement_id=_text(achievement.get("id")),
        achievement_name=_text(achievement.get("name")),
        learner=learner_text,
        issued_on=issued_on,
        grade=grade,
        credits=credits,
        eqf_level=eqf,
    )
    if len(credential_id) > 500:
        problem("$.id", credential_id, "is longer than 500 characters")
    if len(facts.achievement_id) > 500:
        problem(
            "$.credentialSubject.achievement.id",
            facts.achievement_id,
            "is longer than 500 characters",
        )
    if issued_on is None and not any(p.field == issued_path for p in problems):
        problem("$.validFrom", None, "no issue date (validFrom, awardedDate or issuanceDate)")
    if problems:
        return MappedBadge(origin, None, facts, tuple(problems), missing, tuple(notes))
    assert issued_on is not None and learner is not None
    try:
        record = CredentialRecord(
            origin=origin,
            credential_id=credential_id,
            programme=ProgrammeRef(
                code=_programme_code(achievement), achievement_id=facts.achievement_id
            ),
            programme_elements=elements,
            learner=learner,
            enrolment=EnrolmentFacts(
                started_on=_date(subject.get("activityStartDate"), "", None),
                ended_on=_date(subject.get("activityEndDate"), "", None),
            ),
            issued_on=issued_on,
            grade=grade,
            expires_on=expires_on,
            source="open_badges",
        )
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"]) or None
            reason = item["msg"].removeprefix("Value error, ")
            problems.append(Problem(origin=origin, field=where, reason=reason))
        return MappedBadge(origin, None, facts, tuple(problems), missing, tuple(notes))
    return MappedBadge(origin, record, facts, (), missing, tuple(notes))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _date(value: object, path: str, problem: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    text = str(value)
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            if problem is not None:
                problem(path, text, "is not a date-time (ISO 8601)")
            return None


def _issue_date(credential: dict[str, Any], problem: Any) -> tuple[dt.date | None, str]:
    for path, value in (
        ("$.validFrom", credential.get("validFrom")),
        ("$.awardedDate", credential.get("awardedDate")),
        ("$.issuanceDate", credential.get("issuanceDate")),
    ):
        if value:
            return _date(value, path, problem), path
    return None, "$.validFrom"


def _learner(
    subject: dict[str, Any], notes: list[str], problem: Any
) -> tuple[LearnerRef | None, str]:
    ids: list[ExternalId] = []
    email: str | None = None
    subject_id = _text(subject.get("id"))
    if subject_id:
        if len(subject_id) > 500:
            problem("$.credentialSubject.id", subject_id, "is longer than 500 characters")
            return None, subject_id
        ids.append(ExternalId(scheme=SUBJECT_SCHEME, value=subject_id))
    for index, entry in enumerate(subject.get("identifier") or []):
        if not isinstance(entry, dict):
            continue
        value = _text(entry.get("identityHash")).strip()
        kind = _text(entry.get("identityType")) or "identifier"
        if not value:
            continue
        if kind in IGNORED_IDENTITY_TYPES:
            notes.append(f"identifier {index} ({kind}) is not used to identify the learner")
            continue
        if entry.get("hashed") is True:
            # A hash cannot be read back, and with its salt it only matches itself: kept as an
            # identifier so the same hashed identity in several files is one learner, never
            # used as an address.
            salt = _text(entry.get("salt"))
            kept = f"{value}${salt}" if salt else value
            ids.append(ExternalId(scheme=f"open_badges_hashed_{kind}"[:60], value=kept[:500]))
            notes.append(f"identifier {index} is hashed ({kind}): kept as an identifier only")
        elif kind == "emailAddress":
            email = email or value.lower()
        elif kind.lower() in STUDENT_ID_TYPES:
            ids.append(ExternalId(scheme=STUDENT_ID_SCHEME, value=value[:500]))
        else:
            ids.append(ExternalId(scheme=f"open_badges_{kind}"[:60], value=value[:500]))
    shown = subject_id or (email or (ids[0].value if ids else ""))
    if not ids and not email:
        problem(
            "$.credentialSubject",
            None,
            "names no learner (neither an id nor an unhashed identifier entry)",
        )
        return None, shown
    unique = tuple(dict.fromkeys(ids))
    return LearnerRef(external_ids=unique, email=email), shown


def _grade(subject: dict[str, Any], achievement: dict[str, Any]) -> str | None:
    for result in subject.get("result") or []:
        if isinstance(result, dict) and result.get("value") not in (None, ""):
            return str(result["value"])[:60]
    for result in subject.get("result") or []:
        if isinstance(result, dict) and result.get("achievedLevel"):
            return _level_name(achievement, str(result["achievedLevel"]))
    return None


def _level_name(achievement: dict[str, Any], level_id: str) -> str:
    for description in achievement.get("resultDescription") or []:
        for level in (description or {}).get("rubricCriterionLevel") or []:
            if isinstance(level, dict) and level.get("id") == level_id:
                return str(level.get("name") or level_id)[:60]
    return level_id[:60]


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return None
    return None


def _credits(achievement: dict[str, Any], subject: dict[str, Any]) -> tuple[float | None, str]:
    for key in ("creditsAvailable", "ECTS"):
        number = _number(achievement.get(key))
        if number is not None and number > 0:
            return number, ""
    for key in ("SBU", "timeInvestment"):
        hours = _number(achievement.get(key))
        if hours is not None and hours > 0:
            ects = round(hours / HOURS_PER_ECTS, 2)
            return ects, f"credits {ects:g} ECTS from {key} {hours:g} hours at 28 hours per ECTS"
    return None, ""


def _eqf(achievement: dict[str, Any], problem: Any) -> int | None:
    for index, alignment in enumerate(achievement.get("alignment") or []):
        if not isinstance(alignment, dict) or alignment.get("targetType") != "ext:EQF":
            continue
        code = _text(alignment.get("targetCode")) or _text(alignment.get("targetName"))
        match = re.search(r"[1-8]", code)
        if match and len(re.findall(r"\d+", code)) == 1:
            return int(match.group())
        problem(
            f"$.credentialSubject.achievement.alignment[{index}].targetCode",
            code,
            "is not an EQF level (1 to 8)",
        )
    return None


def _quality_assurance(achievement: dict[str, Any]) -> str | None:
    for alignment in achievement.get("alignment") or []:
        if isinstance(alignment, dict) and alignment.get("targetType") == "ext:QualityAssurance":
            parts = [_text(alignment.get(k)).strip() for k in ("targetName", "targetCode")]
            text = " — ".join(p for p in parts if p)
            return text[:300] or None
    return None


def _programme_code(achievement: dict[str, Any]) -> str | None:
    # The programme's own code: an otherIdentifier, the Edubadges programme identifier, or
    # the humanCode, first that fits the code column.
    candidates: list[object] = [
        (entry or {}).get("identifier") for entry in achievement.get("otherIdentifier") or []
    ]
    candidates += [achievement.get("educationProgramIdentifier"), achievement.get("humanCode")]
    for candidate in candidates:
        if isinstance(candidate, int | str) and not isinstance(candidate, bool):
            text = str(candidate).strip()
            if 0 < len(text) <= 40:
                return text
    return None


def _elements(
    achievement: dict[str, Any],
    issuer: dict[str, Any],
    credits: float | None,
    eqf: int | None,
) -> tuple[ProgrammeElements, tuple[str, ...]]:
    """The EU elements the achievement states, with a stand-in for each mandatory one it does
    not state, and the names of those stood in for.

    A programme created from a badge is then complete enough to hold its credentials, and the
    report names what a manager must fill in: text elements read "not stated in the
    credential", the country ``ZZ`` (ISO 3166's user-assigned "unknown"), the participation
    form ``blended`` and the credits 0 (the table's "none recorded"; the Programmes page asks
    for a positive number at the next edit).
    """
    address = issuer.get("address") if isinstance(issuer.get("address"), dict) else {}
    country = _text((address or {}).get("addressCountryCode")).strip().upper()
    participation = PARTICIPATION.get(_text(achievement.get("participationType")).strip().lower())
    stated: dict[str, Any] = {
        "title": _text(achievement.get("name")).strip()[:300],
        "awarding_body": (_text(issuer.get("name")).strip() or _text(issuer.get("id")))[:300],
        "issuer_country": country if re.fullmatch(r"[A-Z]{2}", country) else "",
        "learning_outcomes": _text(achievement.get("description")).strip(),
        "ects": credits if credits is not None and 0 < credits <= 300 else None,
        "assessment_type": _text(achievement.get("assessmentType")).strip()[:200],
        "participation_form": participation,
        "quality_assurance": _quality_assurance(achievement),
        "field_of_study": _text(achievement.get("fieldOfStudy")).strip()[:200],
    }
    missing = tuple(name for name, value in stated.items() if value in (None, ""))
    if not missing:
        return ProgrammeElements(eqf_level=eqf, **stated), ()
    stand_ins = {"issuer_country": "ZZ", "participation_form": "blended", "ects": 0.0}
    filled: dict[str, Any] = {
        name: stand_ins.get(name, NOT_STATED) if name in missing else value
        for name, value in stated.items()
    }
    if filled["ects"] == 0.0:
        # The model asks for positive credits (right for a manager's input); a badge that
        # states none gets the table's 0, which the programme's next edit must replace.
        return ProgrammeElements.model_construct(eqf_level=eqf, stood_in=missing, **filled), missing
    return ProgrammeElements(eqf_level=eqf, stood_in=missing, **filled), missing
