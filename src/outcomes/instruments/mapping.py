"""The canonical fields a question may feed (``canonical: <field>``) and the types that fit each.

Field names are those of ``CanonicalOutcome`` (``canonical.py``), which follow the ``outcome``
table; ``salary`` and ``baseline_salary`` feed the annualised, converted amount and its
exclusion flag; ``activity`` and ``baseline_activity`` take the codes of
``outcomes.vocab.ACTIVITIES`` plus ``employed``, which derivation splits into full-time or
part-time by hours.
"""

from __future__ import annotations

from outcomes.vocab import ACTIVITIES

# "employed" lets the survey ask one plain question; hours decide full-time vs part-time.
ACTIVITY_ANSWER_CODES: frozenset[str] = frozenset(ACTIVITIES) | {"employed"}

# Canonical fields whose answers identify a person at work: stored apart from the other
# answers (table ``response_identifying``) and removed on erasure.
IDENTIFYING_FIELDS: frozenset[str] = frozenset({"employer", "job_title"})

# Question types accepted by each canonical field, with one line on what it records.
CANONICAL_FIELDS: dict[str, tuple[frozenset[str], str]] = {
    "activity": (frozenset({"single_choice"}), "primary activity now (domain.md §4)"),
    "hours_per_week": (frozenset({"integer", "decimal"}), "usual hours worked per week"),
    "salary": (frozenset({"money"}), "gross pay → salary_annual and salary_excluded"),
    "employer": (frozenset({"short_text"}), "employer name (identifying free text)"),
    "job_title": (frozenset({"short_text"}), "job title (identifying free text)"),
    "occupation_isco": (frozenset({"occupation"}), "ISCO-08 major group"),
    "industry_isic": (frozenset({"industry"}), "ISIC Rev.4 section"),
    "job_related": (frozenset({"likert"}), "job related to the credential, 1–5"),
    "skills_used": (frozenset({"likert"}), "uses the credential's skills at work, 1–5"),
    "promoted": (frozenset({"yes_no"}), "promotion or pay rise since the credential"),
    "satisfaction": (frozenset({"likert"}), "overall satisfaction with the programme, 1–5"),
    "nps": (frozenset({"scale_0_10"}), "likelihood to recommend, 0–10"),
    "voice_meaningful": (frozenset({"likert"}), "graduate voice: activity is meaningful"),
    "voice_future": (frozenset({"likert"}), "graduate voice: activity fits future plans"),
    "voice_skills": (frozenset({"likert"}), "graduate voice: uses what I learnt"),
    "months_to_first_job": (frozenset({"integer", "decimal"}), "months from award to job"),
    "job_held_before_award": (frozenset({"yes_no"}), "current job already held at award"),
    "work_country": (frozenset({"country"}), "country of work or residence"),
    "baseline_activity": (frozenset({"single_choice"}), "primary activity before the course"),
    "baseline_hours_per_week": (frozenset({"integer", "decimal"}), "hours before the course"),
    "baseline_salary": (frozenset({"money"}), "gross pay before the course"),
    "intention": (frozenset({"single_choice"}), "main plan for the coming months"),
    "follow_up_consent": (frozenset({"yes_no"}), "agrees to be contacted by later waves"),
}

ACTIVITY_FIELDS = frozenset({"activity", "baseline_activity"})
