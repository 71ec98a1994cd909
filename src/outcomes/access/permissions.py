"""Who may open which page: one table, checked by the navigation and by every page itself.

Pure (no Streamlit): the access-matrix test reads the same table the app uses.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anonymous"
GRADUATE = "graduate"
STAFF_ROLES = ("admin", "manager", "reviewer")
# A signed-in staff member who must first choose a password or set up a second factor.
ACCOUNT_SETUP = "account_setup"
ALL_AUDIENCES = (ANONYMOUS, GRADUATE, *STAFF_ROLES, ACCOUNT_SETUP)


@dataclass(frozen=True)
class PageSpec:
    """One screen of the app."""

    key: str
    path: str
    title: str
    icon: str
    audiences: tuple[str, ...]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("signin", "pages/signin.py", "Sign in", ":material/login:", (ANONYMOUS,)),
    PageSpec("survey", "pages/survey.py", "Survey", ":material/assignment:", (ANONYMOUS, GRADUATE)),
    PageSpec("home", "pages/home.py", "Overview", ":material/home:", STAFF_ROLES),
    PageSpec(
        "programmes", "pages/programmes.py", "Programmes", ":material/school:", ("admin", "manager")
    ),
    PageSpec("dashboard", "pages/dashboard.py", "Impact", ":material/insights:", STAFF_ROLES),
    PageSpec("users", "pages/users.py", "Staff users", ":material/group:", ("admin",)),
    PageSpec("audit", "pages/audit.py", "Audit trail", ":material/history:", ("admin", "reviewer")),
    PageSpec(
        "privacy", "pages/privacy.py", "Privacy requests", ":material/shield_person:", ("admin",)
    ),
    PageSpec(
        "account",
        "pages/account.py",
        "Your account",
        ":material/manage_accounts:",
        (*STAFF_ROLES, ACCOUNT_SETUP),
    ),
)


def page(key: str) -> PageSpec:
    """The page with ``key``."""
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise KeyError(key)


def can_open(audience: str, key: str) -> bool:
    """True when ``audience`` (a role, "graduate" or "anonymous") may open page ``key``."""
    return audience in page(key).audiences


def pages_for(audience: str) -> list[PageSpec]:
    """The pages to put in the navigation for ``audience``, in menu order."""
    return [spec for spec in PAGES if audience in spec.audiences]
