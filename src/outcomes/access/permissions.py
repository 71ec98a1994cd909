"""Who may do what: the one place that knows what each role may open, do and see.

Pages (``PAGES``: the navigation and every page's guard read it), actions (``ACTIONS``:
services and pages ask :func:`can` before acting or showing), and what a role sees of the
institution (:func:`is_programme_scoped`, :func:`sees_whole_institution`) and of its figures
(:func:`sees_exact_counts`). Nothing else compares role names. Pure (no Streamlit, no
database): the access-matrix tests hold their own hand-written copies of these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

# Graduates never reach these pages: their survey is the server-rendered routes of
# ``outcomes.web.survey``, with no Streamlit frontend and no account.
ANONYMOUS = "anonymous"
STAFF_ROLES = ("admin", "manager", "reviewer")
# A signed-in staff member who must first choose a password or set up a second factor.
ACCOUNT_SETUP = "account_setup"
ALL_AUDIENCES = (ANONYMOUS, *STAFF_ROLES, ACCOUNT_SETUP)


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
    PageSpec("home", "pages/home.py", "Overview", ":material/home:", STAFF_ROLES),
    PageSpec(
        "programmes", "pages/programmes.py", "Programmes", ":material/school:", ("admin", "manager")
    ),
    PageSpec(
        "imports",
        "pages/imports.py",
        "Import records",
        ":material/upload_file:",
        ("admin", "manager"),
    ),
    PageSpec(
        "waves", "pages/waves.py", "Survey waves", ":material/campaign:", ("admin", "manager")
    ),
    PageSpec(
        "monitor",
        "pages/monitor.py",
        "Fieldwork monitor",
        ":material/monitoring:",
        ("admin", "manager"),
    ),
    PageSpec(
        "sources",
        "pages/sources.py",
        "Other outcome sources",
        ":material/fact_check:",
        ("admin", "manager"),
    ),
    PageSpec("outbox", "pages/outbox.py", "Outbox", ":material/outbox:", ("admin", "manager")),
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


@dataclass(frozen=True)
class ActionSpec:
    """One thing a viewer may do or see beyond opening a page."""

    key: str
    meaning: str
    audiences: tuple[str, ...]


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("programmes.edit", "create, edit and retire programmes", ("admin", "manager")),
    ActionSpec("staff.manage", "add staff, change roles, scopes, locks", ("admin",)),
    ActionSpec("audit.read", "read and export the audit trail", ("admin", "reviewer")),
    ActionSpec(
        "audit.unknown_email_digests",
        "see the keyed digest of an unknown e-mail typed at sign-in",
        ("admin",),
    ),
    ActionSpec("privacy.requests", "answer access, erasure and retention requests", ("admin",)),
    ActionSpec(
        "sources.record",
        "record outcomes learned from other sources (employer, public profile, phone) for "
        "graduates of the programmes in scope",
        ("admin", "manager"),
    ),
    ActionSpec("impact.read", "read the impact dashboard", STAFF_ROLES),
    ActionSpec(
        "waves.manage",
        "create, launch and close survey waves (of the programmes in scope)",
        ("admin", "manager"),
    ),
    ActionSpec(
        "figures.exact",
        "read exact counts of the programmes in scope (others read them rounded and "
        "small ones withheld)",
        ("admin", "manager"),
    ),
    ActionSpec(
        "invitations.reissue",
        "reissue a graduate's personal survey link (the old one stops working)",
        ("admin", "manager"),
    ),
    ActionSpec(
        "records.import",
        "import credential records (CSV, Open Badges) into the programmes in scope",
        ("admin", "manager"),
    ),
    ActionSpec(
        "signin.second_factor",
        "must use a second factor when signing in by password (OUTCOMES_ADMIN_TOTP)",
        ("admin",),
    ),
)

# A manager sees the programmes an administrator assigned (or all, by the explicit flag);
# these roles see the whole institution. Any other role sees nothing (fail closed).
SCOPED_ROLES = ("manager",)
WHOLE_INSTITUTION_ROLES = ("admin", "reviewer")


def action(key: str) -> ActionSpec:
    """The action with ``key``."""
    for spec in ACTIONS:
        if spec.key == key:
            return spec
    raise KeyError(key)


def can(audience: str, key: str) -> bool:
    """True when ``audience`` may do action ``key`` (an unknown action is a programming error)."""
    return audience in action(key).audiences


def is_programme_scoped(role: str) -> bool:
    """True for roles limited to the programmes assigned to them."""
    return role in SCOPED_ROLES


def sees_whole_institution(role: str) -> bool:
    """True for roles that see every programme without any assignment."""
    return role in WHOLE_INSTITUTION_ROLES


def sees_exact_counts(role: str) -> bool:
    """True for roles that read exact counts; every other role reads them under control."""
    return can(role, "figures.exact")


def page(key: str) -> PageSpec:
    """The page with ``key``."""
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise KeyError(key)


def can_open(audience: str, key: str) -> bool:
    """True when ``audience`` (a role or "anonymous") may open page ``key``."""
    return audience in page(key).audiences


def pages_for(audience: str) -> list[PageSpec]:
    """The pages to put in the navigation for ``audience``, in menu order."""
    return [spec for spec in PAGES if audience in spec.audiences]
