"""Every code list of the product, in one place: tables, instruments and analysis import them.

Kernel module: imports nothing of ours. The database's CHECK constraints (``store.tables``),
the instruments' answer codes and the analysis formulas (domain.md section 4) all read these
tuples, so a code cannot exist in one layer and not in another.
"""

from __future__ import annotations

PROGRAMME_STATUSES = ("draft", "active", "retired")
PARTICIPATION_FORMS = ("online", "onsite", "blended")
LANGUAGES = ("en", "es")
GENDERS = ("female", "male", "non_binary", "prefer_not_to_say", "unknown")
PRIOR_EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate", "unknown")
BASELINE_EMPLOYMENT = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "unemployed",
    "student",
    "not_in_labour_force",
    "unknown",
)
ENROLMENT_STATUSES = ("completed", "withdrawn", "in_progress")
CREDENTIAL_STATUSES = ("active", "revoked")
CREDENTIAL_SOURCES = ("csv", "open_badges", "manual", "demo")
WAVE_STATUSES = ("draft", "open", "closed")
RESPONSE_STATUSES = ("partial", "complete")
# domain.md section 4: one primary activity per graduate per wave.
ACTIVITIES = (
    "employed_full_time",
    "employed_part_time",
    "self_employed",
    "internship",
    "voluntary",
    "military",
    "continuing_education",
    "seeking_employment",
    "seeking_study",
    "not_seeking",
    "unknown",
)
# The canonical outcome measures of the outcome table, in table order (instruments derive
# them, the demo writes them).
OUTCOME_MEASURES = (
    "activity",
    "hours_per_week",
    "salary_annual",
    "salary_excluded",
    "occupation_isco",
    "industry_isic",
    "job_related",
    "promoted",
    "satisfaction",
    "nps",
    "voice_meaningful",
    "voice_future",
    "voice_skills",
    "months_to_first_job",
    "job_search_censored",
)
OUTCOME_SOURCES = ("survey", "staff_verified", "employer", "public_profile")
SALARY_PERIODS = ("hourly", "weekly", "monthly", "annual")
ROLES = ("admin", "manager", "reviewer")

# Activity groups of domain.md section 4.
EMPLOYED = ("employed_full_time", "employed_part_time", "self_employed")
# NACE "career outcomes": employment of any kind (incl. internships and fellowships),
# voluntary/service, military and continuing education.
CAREER_POSITIVE = (*EMPLOYED, "internship", "voluntary", "military", "continuing_education")
SEEKING = ("seeking_employment", "seeking_study")
