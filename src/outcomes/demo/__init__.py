"""The demo institution: a seeded generator of realistic data with planted effects.

See docs/demo.md. The description of the institution is data (``seed/institution.yaml``);
this package turns it into database rows and an answer key of the planted truth.
"""

from outcomes.demo.answer_key import write_answer_key
from outcomes.demo.generate import DemoDatabaseNotEmpty, DemoSummary, generate_demo
from outcomes.demo.spec import DemoSpecError, InstitutionSpec, load_institution
from outcomes.demo.staff_accounts import demo_passwords, demo_staff_emails, demo_staff_key

__all__ = [
    "DemoDatabaseNotEmpty",
    "DemoSpecError",
    "DemoSummary",
    "InstitutionSpec",
    "demo_passwords",
    "demo_staff_emails",
    "demo_staff_key",
    "generate_demo",
    "load_institution",
    "write_answer_key",
]
