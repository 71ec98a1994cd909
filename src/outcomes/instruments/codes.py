"""Coded lists the instruments use: countries, occupations, industries, scale labels.

The three classification lists are CSV files in ``data/`` (code, English, Spanish), read once
and cached: they are small and never change while the process runs.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal

Language = Literal["en", "es"]
LANGUAGES: tuple[Language, ...] = ("en", "es")
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


@cache
def _read(name: str) -> MappingProxyType[str, tuple[str, str]]:
    text = resources.files("outcomes.instruments").joinpath("data", name).read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return MappingProxyType({row["code"]: (row["en"], row["es"]) for row in rows})


def countries() -> MappingProxyType[str, tuple[str, str]]:
    """ISO 3166-1 alpha-2 code → (English name, Spanish name), in code order."""
    return _read("countries.csv")


def occupations() -> MappingProxyType[str, tuple[str, str]]:
    """ISCO-08 major group ("0"–"9") → (English title, Spanish title)."""
    return _read("isco08_major_groups.csv")


def industries() -> MappingProxyType[str, tuple[str, str]]:
    """ISIC Rev.4 section ("A"–"U") → (English title, Spanish title)."""
    return _read("isic4_sections.csv")


def coded_list(question_type: str) -> MappingProxyType[str, tuple[str, str]] | None:
    """The shipped code list behind a coded question type, or None for other types."""
    if question_type == "country":
        return countries()
    if question_type == "occupation":
        return occupations()
    if question_type == "industry":
        return industries()
    return None


# Five-point labelled scales (1 = lowest). Wording follows the UK Graduate Outcomes survey for
# agreement and the QILT surveys for satisfaction, so results compare with published figures.
LIKERT_SCALES: dict[str, tuple[tuple[str, str], ...]] = {
    "agreement": (
        ("Strongly disagree", "Muy en desacuerdo"),
        ("Disagree", "En desacuerdo"),
        ("Neither agree nor disagree", "Ni de acuerdo ni en desacuerdo"),
        ("Agree", "De acuerdo"),
        ("Strongly agree", "Muy de acuerdo"),
    ),
    "satisfaction": (
        ("Very dissatisfied", "Muy insatisfecho/a"),
        ("Dissatisfied", "Insatisfecho/a"),
        ("Neither satisfied nor dissatisfied", "Ni satisfecho/a ni insatisfecho/a"),
        ("Satisfied", "Satisfecho/a"),
        ("Very satisfied", "Muy satisfecho/a"),
    ),
    "relatedness": (
        ("Not at all related", "Nada relacionado"),
        ("Slightly related", "Poco relacionado"),
        ("Moderately related", "Algo relacionado"),
        ("Closely related", "Bastante relacionado"),
        ("Very closely related", "Muy relacionado"),
    ),
    "frequency": (
        ("Never", "Nunca"),
        ("Rarely", "Rara vez"),
        ("Sometimes", "A veces"),
        ("Often", "A menudo"),
        ("Very often", "Muy a menudo"),
    ),
}

YES_NO_LABELS = {True: ("Yes", "Sí"), False: ("No", "No")}

PERIOD_LABELS: dict[str, tuple[str, str]] = {
    "hourly": ("per hour", "por hora"),
    "weekly": ("per week", "por semana"),
    "monthly": ("per month", "al mes"),
    "annual": ("per year", "al año"),
}
