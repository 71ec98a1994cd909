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
    """An analysis cannot be run defensibly on this data; the message says why.

    A refusal that names counts of people gives them as ``{name}`` fields of ``message``
    with their values as keywords: the message holds them exact, and
    ``outcomes.analysis.publication`` words them for viewers who may not see exact counts.
    Text put into such a template must go through :func:`literal`.
    """

    def __init__(self, message: str, **counts: int) -> None:
        self.template = message
        self.counts = counts
        super().__init__(message.format(**counts) if counts else message)


def literal(text: str) -> str:
    """``text`` for a counted refusal's template, shown as it is (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")
