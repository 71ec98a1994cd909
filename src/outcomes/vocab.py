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
# Why a launch recorded an invitation that will never be sent: the person asked not to be
# contacted again, or their record was erased. They stay in the wave's denominator.
INVITATION_SKIP_REASONS = ("opted_out", "erased")
# The outbox (fieldwork/outbox.py): one row per message planned for an invitation.
MAIL_KINDS = ("invitation", "reminder")
MAIL_STATUSES = (
    "pending",  # due to be sent (at next_attempt_at, when set)
    "claimed",  # taken by a sender's batch, not yet handed to the SMTP server
    "sending",  # being handed over: a crash here leaves it uncertain, never resent
    "sent",  # the server accepted it (message_id recorded)
    "failed_temporary",  # 4xx or no connection: retried with backoff
    "bounced",  # 5xx: the recipient was refused; no more messages to this invitation
    "cancelled",  # no longer due (submitted, opted out, other source, wave closed)
    "uncertain",  # a sender died while handing it over; not resent (docs/fieldwork.md)
)
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
# Where an outcome came from: the graduate's own survey answers, or staff who learned it
# elsewhere (an employer's confirmation, a public profile a staff member checked, a phone
# call). Every analysis and export keeps the source (domain.md section 4, knowledge rate).
OUTCOME_SOURCES = ("survey", "staff_verified", "employer", "public_profile", "phone")
OTHER_OUTCOME_SOURCES = tuple(s for s in OUTCOME_SOURCES if s != "survey")
SALARY_PERIODS = ("hourly", "weekly", "monthly", "annual")
ROLES = ("admin", "manager", "reviewer")

# Activity groups of domain.md section 4.
EMPLOYED = ("employed_full_time", "employed_part_time", "self_employed")
# NACE "career outcomes": employment of any kind (incl. internships and fellowships),
# voluntary/service, military and continuing education.
CAREER_POSITIVE = (*EMPLOYED, "internship", "voluntary", "military", "continuing_education")
SEEKING = ("seeking_employment", "seeking_study")
