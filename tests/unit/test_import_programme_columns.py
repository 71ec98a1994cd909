"""A programme an import creates is stored with the coded Annex I types (migration 0008)."""

from __future__ import annotations

import pytest

from outcomes.records.importing import programme_columns, quality_assurance_type
from outcomes.records.model import ProgrammeElements


def elements(assessment: str, quality: str) -> ProgrammeElements:
    return ProgrammeElements(
        title="Data Analytics",
        awarding_body="Demo University",
        issuer_country="ES",
        learning_outcomes="Clean, analyse and present data.",
        ects=5,
        eqf_level=6,
        assessment_type=assessment,
        participation_form="online",
        quality_assurance=quality,
        field_of_study="Statistics",
    )


def test_an_edubadges_assessment_word_becomes_its_code_and_other_words_are_kept() -> None:
    coded = programme_columns(elements("Application of a skill", "internal"))
    assert (coded["assessment_type"], coded["assessment_description"]) == (
        "application_of_a_skill",
        None,
    )
    free = programme_columns(elements("Written exam and a project", "internal"))
    assert free["assessment_type"] == "other"
    assert free["assessment_description"] == "Written exam and a project"
    assert coded["eqf_applicable"] is True and coded["eqf_level"] == 6


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("Internal quality assurance of the faculty", "internal"),
        ("Accredited by the national agency (NVAO)", "external"),
        ("Internal review and external accreditation", "internal_and_external"),
        ("not stated in the credential", "other"),
        ("internal_and_external", "internal_and_external"),
    ],
)
def test_the_quality_assurance_type_is_read_from_the_description(words: str, code: str) -> None:
    assert programme_columns(elements("testing", words))["quality_assurance_type"] == code
    if "_" not in words:
        assert quality_assurance_type(words) == code


def test_a_programme_holding_stand_ins_is_created_as_a_draft() -> None:
    complete = programme_columns(elements("testing", "internal"))
    assert complete["status"] == "active" and "stood_in" not in complete
    partial = elements("testing", "not stated in the credential").model_copy(
        update={"stood_in": ("field_of_study", "quality_assurance")}
    )
    assert programme_columns(partial)["status"] == "draft"
