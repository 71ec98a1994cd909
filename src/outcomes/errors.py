"""Domain errors: each carries one plain sentence that a user can act on.

Pages show ``str(error)`` with ``st.error``; the CLI prints it on stderr and exits non-zero.
Nothing here ever carries a stack trace to a user.
"""

from __future__ import annotations


class OutcomesError(Exception):
    """Base class for every error the product explains to a user in one sentence."""

    exit_code = 1


class SettingsError(OutcomesError):
    """A setting (environment variable) is missing or malformed."""

    exit_code = 2


class DatabaseError(OutcomesError):
    """The database is unreachable, not migrated, or newer than this code."""

    exit_code = 3


class IntegrityProblem(OutcomesError):
    """A write would break a rule of the data model (duplicate id, missing parent, ...)."""


class NotFound(OutcomesError):
    """The thing asked for does not exist."""


class ValidationProblem(OutcomesError):
    """Input (a file, an answer, a form) does not meet its rules."""


class AccessDenied(OutcomesError):
    """The signed-in user's role does not allow this."""


class AnalysisRefused(OutcomesError):
    """An analysis cannot be run defensibly on this data; the message says why."""
