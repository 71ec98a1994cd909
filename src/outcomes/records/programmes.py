"""Programmes with every element of the EU Recommendation's Annex I: input, listing, changes.

Input goes through :class:`ProgrammeCreate` and :class:`ProgrammeUpdate` (pydantic, strict,
``extra="forbid"``); :func:`field_messages` turns their ``ValidationError`` into one plain
sentence per field, which the CLI prints and the page shows next to each input. Numbers,
dates and yes/no answers are read from text too (a form or a command line sends text); every
other field is strict (a number where text belongs is refused, not converted).

Services (:func:`list_programmes`, :func:`show_programme`, :func:`create_programme`,
:func:`edit_programme`, :func:`retire_programme`) take the caller's session, which owns the
unit of work, and audit every change with the elements before and after. Staff pass their
``role`` and ``scope``: the action ``programmes.edit`` decides who may change programmes, a
manager only those in their scope; a manager who creates a programme has it added to their
scope (they are the one who will run it). ``role=None`` is an operator with the database
itself (the command line, an importer run by one), who is not scoped.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlmodel import Session, col, select

from outcomes import audit
from outcomes.access import permissions
from outcomes.errors import AccessDenied, NotFound, ValidationProblem
from outcomes.store.tables import Programme, StaffProgrammeScope, StaffUser
from outcomes.vocab import (
    ASSESSMENT_TYPES,
    COUNTRY_NAMES,
    PARTICIPATION_FORMS,
    QUALITY_ASSURANCE_TYPES,
    SUPERVISION_TYPES,
)

EDIT = "programmes.edit"
NOT_APPLICABLE = "not applicable"

# What each element is called in a message and on the page (Annex I's words where it has one).
LABELS: dict[str, str] = {
    "code": "Code",
    "title": "Title",
    "title_es": "Spanish title",
    "awarding_body": "Awarding body",
    "issuer_country": "Issuer country",
    "learning_outcomes": "Learning outcomes",
    "ects": "ECTS",
    "eqf_level": "EQF level",
    "assessment_type": "Type of assessment",
    "assessment_description": "Assessment description",
    "participation_form": "Form of participation",
    "quality_assurance_type": "Type of quality assurance",
    "quality_assurance": "Quality assurance description",
    "field_of_study": "Field of study",
    "prerequisites": "Prerequisites",
    "supervision_type": "Supervision and identity verification",
    "identity_checked": "Identity checked",
    "grade_scheme": "Grade scheme",
    "stackability": "Integration and stackability options",
    "further_information": "Further information",
    "industry_partners": "Industry partners",
    "launched_on": "Launch date",
    "redesigned_on": "Redesign date",
    "achievement_id": "Open Badges achievement id",
    "status": "Status",
}
REQUIRED = (
    "code",
    "title",
    "awarding_body",
    "issuer_country",
    "learning_outcomes",
    "ects",
    "eqf_level",
    "assessment_type",
    "participation_form",
    "quality_assurance_type",
    "quality_assurance",
    "field_of_study",
)


# --- validation of one element ----------------------------------------------------------------


def _blank_is_none(value: object) -> object:
    """An empty or all-blank text is no value (a form's empty input)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _one_of(values: tuple[str, ...]) -> Any:
    def check(value: str) -> str:
        code = value.strip().lower().replace(" ", "_").replace("-", "_")
        if code not in values:
            raise ValueError(f"must be one of {', '.join(values)}; {value!r} is not one.")
        return code

    return AfterValidator(check)


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRY_NAMES:
        raise ValueError(f"must be an ISO 3166-1 alpha-2 code such as ES; {value!r} is not one.")
    return code


def _ects(value: float) -> float:
    if not 0 < value <= 300:
        raise ValueError(f"must be a positive number of credits, at most 300; {value:g} is not.")
    return float(value)


def _eqf(value: object) -> object:
    value = _blank_is_none(value)
    if value is None:
        return None  # no level given: "is required", from the type or the update's check
    if isinstance(value, bool):
        raise ValueError('must be a whole number from 1 to 8, or "not applicable".')
    if isinstance(value, str):
        text = value.strip().lower().replace("_", " ")
        if text in (NOT_APPLICABLE, "n/a", "na"):
            return NOT_APPLICABLE
        if text.isdigit():
            value = int(text)
    if isinstance(value, int) and 1 <= value <= 8:
        return value
    raise ValueError(f'must be a whole number from 1 to 8, or "not applicable"; {value!r} is not.')


def _code(value: str) -> str:
    code = value.strip()
    if not code or not all(c.isalnum() or c in "-_." for c in code):
        raise ValueError("must be letters, digits, '-', '_' or '.', with no spaces.")
    return code


# Text from a form or a command line, read as the number, date or yes/no it spells; anything
# else goes to the strict type, which refuses it with its own message.
def _number(value: object) -> object:
    value = _blank_is_none(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "."))
        except ValueError:
            raise ValueError(f"must be a number; {value!r} is not.") from None
    return value


def _date(value: object) -> object:
    value = _blank_is_none(value)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"must be a date written YYYY-MM-DD; {value!r} is not.") from None
    return value


YES = ("yes", "true", "y", "1", "sí", "si")
NO = ("no", "false", "n", "0")


def _yes_no(value: object) -> object:
    value = _blank_is_none(value)
    if isinstance(value, str):
        if value.lower() in YES:
            return True
        if value.lower() in NO:
            return False
        raise ValueError(f"must be yes or no; {value!r} is not.")
    return value


def _text(max_length: int | None = None) -> Any:
    return Field(min_length=1, max_length=max_length)


RequiredText = Annotated[str, BeforeValidator(_blank_is_none)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]
Code = Annotated[str, BeforeValidator(_blank_is_none), AfterValidator(_code)]
Country = Annotated[str, BeforeValidator(_blank_is_none), AfterValidator(_country)]
Ects = Annotated[float, BeforeValidator(_number), AfterValidator(_ects)]
Eqf = Annotated[int | Literal["not applicable"], BeforeValidator(_eqf)]
Participation = Annotated[str, BeforeValidator(_blank_is_none), _one_of(PARTICIPATION_FORMS)]
Assessment = Annotated[str, BeforeValidator(_blank_is_none), _one_of(ASSESSMENT_TYPES)]
Quality = Annotated[str, BeforeValidator(_blank_is_none), _one_of(QUALITY_ASSURANCE_TYPES)]
LooseDate = Annotated[dt.date | None, BeforeValidator(_date)]
LooseBool = Annotated[bool | None, BeforeValidator(_yes_no)]


def _supervision(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().lower().replace(" ", "_").replace("-", "_")
    if code not in SUPERVISION_TYPES:
        raise ValueError(f"must be one of {', '.join(SUPERVISION_TYPES)}; {value!r} is not one.")
    return code


def _partners(value: object) -> object:
    if isinstance(value, str):  # one line of a form: comma-separated names
        names = [name.strip() for name in value.split(",") if name.strip()]
        return names or None
    return value


Partners = Annotated[list[str] | None, BeforeValidator(_partners)]
Supervision = Annotated[str | None, BeforeValidator(_blank_is_none), AfterValidator(_supervision)]


class _ProgrammeInput(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @field_validator("redesigned_on", check_fields=False)
    @classmethod
    def _after_launch(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        launched = info.data.get("launched_on")
        if value is not None and launched is not None and value <= launched:
            raise ValueError(f"must come after the launch date ({launched.isoformat()}).")
        return value


class ProgrammeCreate(_ProgrammeInput):
    """A new programme: Annex I's mandatory elements required, the optional ones kept."""

    code: Code = _text(40)
    title: RequiredText = _text(300)
    title_es: OptionalText = Field(default=None, max_length=300)
    awarding_body: RequiredText = _text(300)
    issuer_country: Country
    learning_outcomes: RequiredText = _text()
    ects: Ects
    eqf_level: Eqf
    assessment_type: Assessment
    assessment_description: OptionalText = None
    participation_form: Participation
    quality_assurance_type: Quality
    quality_assurance: RequiredText = _text(300)
    field_of_study: RequiredText = _text(200)
    prerequisites: OptionalText = None
    supervision_type: Supervision = None
    identity_checked: LooseBool = None
    grade_scheme: OptionalText = None
    stackability: OptionalText = None
    further_information: OptionalText = None
    industry_partners: Partners = None
    launched_on: LooseDate = None
    redesigned_on: LooseDate = None
    achievement_id: OptionalText = Field(default=None, max_length=500)
    status: Literal["draft", "active"] = "active"


class ProgrammeUpdate(_ProgrammeInput):
    """A partial change: only the elements given change (``None`` clears an optional one).

    The code identifies the programme and does not change; retiring is :func:`retire_programme`.
    """

    title: RequiredText | None = Field(default=None, min_length=1, max_length=300)
    title_es: OptionalText = Field(default=None, max_length=300)
    awarding_body: RequiredText | None = Field(default=None, min_length=1, max_length=300)
    issuer_country: Country | None = None
    learning_outcomes: RequiredText | None = Field(default=None, min_length=1)
    ects: Ects | None = None
    eqf_level: Eqf | None = None
    assessment_type: Assessment | None = None
    assessment_description: OptionalText = None
    participation_form: Participation | None = None
    quality_assurance_type: Quality | None = None
    quality_assurance: RequiredText | None = Field(default=None, min_length=1, max_length=300)
    field_of_study: RequiredText | None = Field(default=None, min_length=1, max_length=200)
    prerequisites: OptionalText = None
    supervision_type: Supervision = None
    identity_checked: LooseBool = None
    grade_scheme: OptionalText = None
    stackability: OptionalText = None
    further_information: OptionalText = None
    industry_partners: Partners = None
    launched_on: LooseDate = None
    redesigned_on: LooseDate = None
    achievement_id: OptionalText = Field(default=None, max_length=500)

    @field_validator(*(f for f in REQUIRED if f != "code"), mode="after")
    @classmethod
    def _not_cleared(cls, value: object) -> object:
        # Reached only for a value given (defaults are not validated): None clears it.
        if value is None:
            raise ValueError("is required.")
        return value

    def changes(self) -> dict[str, Any]:
        """The elements this update sets, by name."""
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


# --- messages ---------------------------------------------------------------------------------

_REASONS = {
    "missing": "is required.",
    "string_type": "must be text.",
    "float_type": "must be a number.",
    "float_parsing": "must be a number.",
    "int_type": "must be a whole number.",
    "bool_type": "must be yes or no.",
    "bool_parsing": "must be yes or no.",
    "date_type": "must be a date (YYYY-MM-DD).",
    "date_parsing": "must be a date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "must be a date (YYYY-MM-DD).",
    "date_from_datetime_inexact": "must be a date without a time.",
    "list_type": "must be a list of names.",
    "literal_error": "must be draft or active.",
}


def _reason(error: Any) -> str:
    kind = error["type"]
    if error.get("input", "") is None and kind.endswith("_type"):
        return "is required."  # an empty input, read as no value
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "string_too_short":
        return "is required."
    if kind == "string_too_long":
        return f"must be at most {error['ctx']['max_length']} characters."
    return _REASONS.get(kind, "is not valid.")


def field_messages(error: ValidationError) -> dict[str, str]:
    """One plain sentence per invalid field of a programme's input, by field name."""
    messages: dict[str, str] = {}
    for item in error.errors():
        location = item["loc"]
        field = str(location[0]) if location else "programme"
        if field in messages:
            continue  # the first problem of a field is its message
        if item["type"] == "extra_forbidden":
            messages[field] = f"{field!r} is not an element of a programme."
        elif field in LABELS:
            messages[field] = f"{LABELS[field]} {_reason(item)}"
        else:
            messages[field] = f"{field} {_reason(item)}"
    return messages


class ProgrammeInvalid(ValidationProblem):
    """A programme's input breaks its rules: ``messages`` holds one sentence per field."""

    def __init__(self, messages: dict[str, str]) -> None:
        self.messages = messages
        super().__init__(" ".join(messages.values()))


def parse_create(values: dict[str, Any]) -> ProgrammeCreate:
    """``values`` as a :class:`ProgrammeCreate`, or :class:`ProgrammeInvalid` naming each field."""
    try:
        return ProgrammeCreate.model_validate(values)
    except ValidationError as exc:
        raise ProgrammeInvalid(field_messages(exc)) from None


def parse_update(values: dict[str, Any]) -> ProgrammeUpdate:
    """``values`` as a :class:`ProgrammeUpdate`, or :class:`ProgrammeInvalid` naming each field."""
    try:
        return ProgrammeUpdate.model_validate(values)
    except ValidationError as exc:
        raise ProgrammeInvalid(field_messages(exc)) from None


# --- rows and their public form ---------------------------------------------------------------

ELEMENTS = tuple(name for name in LABELS if name != "status")


def _row_values(data: ProgrammeCreate | dict[str, Any]) -> dict[str, Any]:
    """Input (validated) as the columns of a ``programme`` row."""
    values = dict(data) if isinstance(data, dict) else data.model_dump()
    if "eqf_level" in values:
        level = values["eqf_level"]
        values["eqf_applicable"] = level != NOT_APPLICABLE
        values["eqf_level"] = None if level == NOT_APPLICABLE else level
    return values


def programme_record(programme: Programme) -> dict[str, Any]:
    """Every element of a programme, JSON-ready: dates as ISO text, EQF 1-8 or "not applicable"
    (``None``: never recorded, a row from before migration 0008)."""
    record: dict[str, Any] = {"code": programme.code}
    for name in ELEMENTS:
        value = getattr(programme, name)
        if name == "eqf_level" and not programme.eqf_applicable:
            value = NOT_APPLICABLE
        if isinstance(value, dt.date):
            value = value.isoformat()
        record[name] = value
    record["status"] = programme.status
    return record


def _as_input(programme: Programme) -> dict[str, Any]:
    """A stored programme as :class:`ProgrammeCreate` input (to check an edit as a whole)."""
    record = programme_record(programme)
    del record["status"]  # not an input of an edit: it keeps its status
    return record


# --- reading ----------------------------------------------------------------------------------


def find_programme(
    session: Session, code: str | None = None, achievement_id: str | None = None
) -> Programme | None:
    """The programme with ``code`` or, failing that, Open Badges ``achievement_id``; or None."""
    if code is not None:
        found = session.exec(select(Programme).where(col(Programme.code) == code.strip())).first()
        if found is not None:
            return found
    if achievement_id is not None:
        return session.exec(
            select(Programme).where(col(Programme.achievement_id) == achievement_id.strip())
        ).first()
    return None


def _in_scope(programme: Programme, scope: set[int] | None) -> bool:
    return scope is None or programme.id in scope


def list_programmes(
    session: Session, *, scope: set[int] | None = None, include_retired: bool = True
) -> list[dict[str, Any]]:
    """Every programme in ``scope`` (``None``: all), by code, as :func:`programme_record`."""
    statement = select(Programme).order_by(col(Programme.code))
    if scope is not None:
        statement = statement.where(col(Programme.id).in_(sorted(scope)))
    if not include_retired:
        statement = statement.where(col(Programme.status) != "retired")
    return [programme_record(p) for p in session.exec(statement).all()]


def show_programme(session: Session, code: str, *, scope: set[int] | None = None) -> dict[str, Any]:
    """One programme in ``scope`` by code, or ``NotFound`` (outside the scope: not found too)."""
    programme = find_programme(session, code=code)
    if programme is None or not _in_scope(programme, scope):
        raise NotFound(f"There is no programme with code {code!r}.")
    return programme_record(programme)


# --- changes ----------------------------------------------------------------------------------


def _may_edit(role: str | None) -> None:
    if role is not None and not permissions.can(role, EDIT):
        raise AccessDenied("Your role may not create, edit or retire programmes.")


def _editable(
    session: Session, code: str, *, role: str | None, scope: set[int] | None
) -> Programme:
    _may_edit(role)
    programme = find_programme(session, code=code)
    if programme is None:
        raise NotFound(f"There is no programme with code {code!r}.")
    if not _in_scope(programme, scope):
        raise AccessDenied(f"Programme {code} is not one of the programmes you manage.")
    return programme


def _unique(session: Session, data: dict[str, Any], *, other_than: int | None = None) -> None:
    for name in ("code", "achievement_id"):
        value = data.get(name)
        if value is None:
            continue
        statement = select(Programme.id).where(getattr(Programme, name) == value)
        if other_than is not None:
            statement = statement.where(col(Programme.id) != other_than)
        if session.exec(statement).first() is not None:
            label = LABELS[name]
            raise ProgrammeInvalid({name: f"{label} {value!r} is already used by a programme."})


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def create_programme(
    session: Session,
    data: ProgrammeCreate,
    *,
    actor: str,
    role: str | None = None,
    user_id: int | None = None,
) -> Programme:
    """Add a programme; audited with its elements. A scoped manager (``user_id``) gets it in
    their scope. ``role=None``: an operator with the database (command line, importer)."""
    _may_edit(role)
    values = _row_values(data)
    _unique(session, values)
    programme = Programme(**values)
    session.add(programme)
    session.flush()
    scoped_to = None
    if role is not None and permissions.is_programme_scoped(role):
        user = session.get(StaffUser, user_id) if user_id is not None else None
        if user is None:
            raise AccessDenied("A manager must be signed in to create a programme.")
        if not user.all_programmes and user.id is not None and programme.id is not None:
            session.add(StaffProgrammeScope(user_id=user.id, programme_id=programme.id))
            scoped_to = user.id
    audit.record(
        session,
        actor=actor,
        action="programme.created",
        object_type="programme",
        object_id=programme.id,
        detail={
            "before": None,
            "after": _json_ready(programme_record(programme)),
            "added_to_scope_of": scoped_to,
        },
    )
    return programme


def edit_programme(
    session: Session,
    code: str,
    change: ProgrammeUpdate,
    *,
    actor: str,
    role: str | None = None,
    scope: set[int] | None = None,
) -> Programme:
    """Change the elements ``change`` sets (checked with the rest, as a whole); audited with
    the changed elements before and after. A retired programme is not edited."""
    programme = _editable(session, code, role=role, scope=scope)
    if programme.status == "retired":
        raise ValidationProblem(
            f"Programme {code} is retired; retired programmes stay as they were."
        )
    merged = {**_as_input(programme), **change.changes()}
    whole = parse_create(merged)  # the cross-element rules, and rows from before 0008
    new = _row_values(whole)
    new["status"] = programme.status  # draft or active, as it was
    before = programme_record(programme)
    _unique(session, new, other_than=programme.id)
    for name, value in new.items():
        setattr(programme, name, value)
    session.add(programme)
    session.flush()
    after = programme_record(programme)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit.record(
            session,
            actor=actor,
            action="programme.edited",
            object_type="programme",
            object_id=programme.id,
            detail={
                "before": {k: before[k] for k in changed},
                "after": {k: after[k] for k in changed},
            },
        )
    return programme


def retire_programme(
    session: Session,
    code: str,
    *,
    actor: str,
    role: str | None = None,
    scope: set[int] | None = None,
) -> Programme:
    """Mark a programme retired: kept with its credentials for history, offered to no new
    wave; audited. Retiring a retired one changes nothing."""
    programme = _editable(session, code, role=role, scope=scope)
    if programme.status == "retired":
        return programme
    before = programme.status
    programme.status = "retired"
    session.add(programme)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="programme.retired",
        object_type="programme",
        object_id=programme.id,
        detail={"before": {"status": before}, "after": {"status": "retired"}},
    )
    return programme
