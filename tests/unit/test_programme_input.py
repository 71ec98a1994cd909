"""A programme's input is checked element by element, with one plain sentence per field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from outcomes.records.programmes import (
    ProgrammeCreate,
    ProgrammeInvalid,
    ProgrammeUpdate,
    parse_create,
    parse_update,
)

VALID: dict[str, Any] = {
    "code": "MC-DATA",
    "title": "Data Analytics with Python",
    "title_es": "Analítica de datos con Python",
    "awarding_body": "Universidad de Ejemplo",
    "issuer_country": "ES",
    "learning_outcomes": "Clean, explore and visualise data.",
    "ects": 6,
    "eqf_level": 6,
    "assessment_type": "testing",
    "participation_form": "online",
    "quality_assurance_type": "internal",
    "quality_assurance": "Internal QA of the university",
    "field_of_study": "Information and Communication Technologies",
}


def messages(**changes: Any) -> dict[str, str]:
    values = {k: v for k, v in {**VALID, **changes}.items() if v is not ...}
    with pytest.raises(ProgrammeInvalid) as refused:
        parse_create(values)
    return refused.value.messages


def test_a_programme_with_every_mandatory_element_is_accepted() -> None:
    data = parse_create(VALID)
    assert (data.code, data.ects, data.eqf_level, data.issuer_country) == ("MC-DATA", 6.0, 6, "ES")
    assert data.status == "active" and data.prerequisites is None


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("ects", 0, "ECTS must be a positive number of credits, at most 300; 0 is not."),
        ("ects", -2.5, "ECTS must be a positive number of credits, at most 300; -2.5 is not."),
        ("ects", "six", "ECTS must be a number; 'six' is not."),
        (
            "eqf_level",
            9,
            'EQF level must be a whole number from 1 to 8, or "not applicable"; 9 is not.',
        ),
        (
            "issuer_country",
            "XX",
            "Issuer country must be an ISO 3166-1 alpha-2 code such as ES; 'XX' is not one.",
        ),
        (
            "participation_form",
            "by post",
            "Form of participation must be one of online, onsite, blended; 'by post' is not one.",
        ),
        (
            "assessment_type",
            "vibes",
            "Type of assessment must be one of testing, application_of_a_skill, portfolio, "
            "recognition_of_prior_learning, other; 'vibes' is not one.",
        ),
        (
            "quality_assurance_type",
            "none",
            "Type of quality assurance must be one of internal, external, internal_and_external, "
            "other; 'none' is not one.",
        ),
        ("title", ..., "Title is required."),
        ("awarding_body", "   ", "Awarding body is required."),
        ("learning_outcomes", ..., "Learning outcomes is required."),
        ("code", 12, "Code must be text."),
        ("code", "MC DATA", "Code must be letters, digits, '-', '_' or '.', with no spaces."),
        (
            "launched_on",
            "01/02/2024",
            "Launch date must be a date written YYYY-MM-DD; '01/02/2024' is not.",
        ),
        ("identity_checked", "maybe", "Identity checked must be yes or no; 'maybe' is not."),
        ("colour", "red", "'colour' is not an element of a programme."),
    ],
)
def test_each_invalid_element_gets_its_own_sentence(field: str, value: Any, sentence: str) -> None:
    assert messages(**{field: value}) == {field: sentence}


def test_every_invalid_element_is_named_at_once() -> None:
    found = messages(ects=0, eqf_level=9, issuer_country="XX", participation_form="x", title=...)
    assert set(found) == {"ects", "eqf_level", "issuer_country", "participation_form", "title"}
    assert all(sentence.endswith(".") and "\n" not in sentence for sentence in found.values())


@pytest.mark.parametrize("spelling", ["not applicable", "Not applicable", "not_applicable", "N/A"])
def test_eqf_not_applicable_is_a_value_of_its_own(spelling: str) -> None:
    assert parse_create({**VALID, "eqf_level": spelling}).eqf_level == "not applicable"


def test_text_from_a_form_or_a_command_line_is_read_as_numbers_dates_and_yes_no() -> None:
    data = parse_create(
        {
            **VALID,
            "ects": "4,5",
            "eqf_level": "5",
            "issuer_country": "nl",
            "participation_form": "Blended",
            "supervision_type": "onsite with identity verification",
            "identity_checked": "yes",
            "launched_on": "2023-09-01",
            "redesigned_on": "2025-01-15",
            "industry_partners": "Acme, Beta Corp",
            "prerequisites": "",
        }
    )
    assert (data.ects, data.eqf_level, data.issuer_country) == (4.5, 5, "NL")
    assert data.participation_form == "blended"
    assert (
        data.supervision_type == "onsite_with_identity_verification"
        and data.identity_checked is True
    )
    assert (data.launched_on, data.redesigned_on) == (dt.date(2023, 9, 1), dt.date(2025, 1, 15))
    assert data.industry_partners == ["Acme", "Beta Corp"] and data.prerequisites is None


def test_a_redesign_must_come_after_the_launch() -> None:
    found = messages(launched_on="2024-01-01", redesigned_on="2023-12-31")
    assert found == {"redesigned_on": "Redesign date must come after the launch date (2024-01-01)."}


def test_strict_text_elements_refuse_numbers_and_lists() -> None:
    assert messages(title=42) == {"title": "Title must be text."}
    assert messages(industry_partners=7) == {
        "industry_partners": "Industry partners must be a list of names."
    }


def test_an_update_changes_only_what_it_names_and_refuses_clearing_a_mandatory_element() -> None:
    change = parse_update({"ects": "7.5", "prerequisites": ""})
    assert change.changes() == {"ects": 7.5, "prerequisites": None}
    with pytest.raises(ProgrammeInvalid) as refused:
        parse_update({"title": "", "eqf_level": "", "ects": 0, "code": "NEW"})
    assert refused.value.messages == {
        "title": "Title is required.",
        "eqf_level": "EQF level is required.",
        "ects": "ECTS must be a positive number of credits, at most 300; 0 is not.",
        "code": "'code' is not an element of a programme.",
    }


def test_the_models_are_strict_and_forbid_unknown_elements() -> None:
    for model in (ProgrammeCreate, ProgrammeUpdate):
        assert model.model_config.get("extra") == "forbid"
        assert model.model_config.get("strict") is True


# The Edubadges profile's enums (educredentials/obv3-examples, schemas/microcredential.json,
# copied in ../shared/fixtures/open-badges/schemas/): an Open Badges credential's words.
EDUBADGES_ASSESSMENT = (
    "testing",
    "application of a skill",
    "portfolio",
    "recognition of prior learning",
)
EDUBADGES_SUPERVISION = (
    "unsupervised with no identity verification",
    "supervised with no identity verification",
    "supervised online",
    "onsite with identity verification",
)


def test_every_edubadges_assessment_and_supervision_type_is_accepted_as_written() -> None:
    for assessment, supervision in zip(EDUBADGES_ASSESSMENT, EDUBADGES_SUPERVISION, strict=True):
        data = parse_create(
            {**VALID, "assessment_type": assessment, "supervision_type": supervision}
        )
        assert data.assessment_type == assessment.replace(" ", "_")
        assert data.supervision_type == supervision.replace(" ", "_")
