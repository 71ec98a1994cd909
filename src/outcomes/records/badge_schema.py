"""Validating a credential against the 1EdTech Open Badges 3.0 JSON Schema.

The schema (``ob_v3p0_achievementcredential_schema.json``, JSON Schema 2019-09) ships in the
package under ``outcomes/records/schemas/`` with the Edubadges profile schemas beside it; it is
read once and nothing is fetched over the network. Each problem is reported with the JSON path
of the offending value (``$.credentialSubject.achievement.criteria`` for a missing
``criteria``), one problem per line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft201909Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"
_REQUIRED = re.compile(r"^'(?P<name>.+)' is a required property$")
_MAX_PROBLEMS = 20


@dataclass(frozen=True)
class SchemaProblem:
    """One way a credential breaks the schema: where (a JSON path) and why."""

    path: str
    message: str


def schema_document(name: str = SCHEMA_FILE) -> dict[str, Any]:
    """One of the shipped schema files, parsed."""
    text = resources.files("outcomes.records").joinpath("schemas", name).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _validator() -> Draft201909Validator:
    schema = schema_document()
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def schema_problems(credential: dict[str, Any]) -> list[SchemaProblem]:
    """Every schema problem of ``credential`` (at most 20), in document order; [] when valid."""
    problems = [_problem(error) for error in _validator().iter_errors(credential)]
    problems.sort(key=lambda p: p.path)
    unique = list(dict.fromkeys(problems))
    return unique[:_MAX_PROBLEMS]


def _problem(error: ValidationError) -> SchemaProblem:
    # A failed oneOf/anyOf hides the telling error among its branches: report the deepest one.
    if error.context:
        # A branch that failed only on the value's type is the least telling one.
        branches = [e for e in error.context if e.validator != "type"] or error.context
        deepest = best_match(branches)
        if deepest is not None and len(deepest.absolute_path) >= len(error.absolute_path):
            error = deepest
    path = error.json_path
    match = _REQUIRED.match(error.message)
    if error.validator == "required" and match:
        name = match.group("name")
        path = f"{path}.{name}" if re.fullmatch(r"[A-Za-z_@][\w@]*", name) else f"{path}[{name!r}]"
        return SchemaProblem(path, "is required but missing")
    if path == "$.type" and error.validator == "contains":
        return SchemaProblem(
            path,
            "must list VerifiableCredential and OpenBadgeCredential (or AchievementCredential)",
        )
    return SchemaProblem(path, _plain(error))


def _plain(error: ValidationError) -> str:
    message = error.message
    if len(message) > 200:
        message = message[:199] + "…"
    return message
