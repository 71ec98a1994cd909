"""Reading instrument files: YAML with line numbers → strict models → cross-question rules.

PyYAML's composer gives every node its start line; we build plain Python data from the node
graph ourselves and keep a map from each path (``("sections", 0, "questions", 2)``) to its
line, so every problem — a pydantic error or a broken rule — is reported where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from outcomes.errors import ValidationProblem
from outcomes.instruments.rules import Finding, instrument_findings
from outcomes.instruments.schema import Instrument

Loc = tuple[str | int, ...]
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}


class InstrumentError(ValidationProblem):
    """An instrument file or definition that is not valid; the message names file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid instrument"
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(first + more)


@dataclass(frozen=True)
class Problem:
    """One problem in an instrument file, printed as ``file:line: question-id: message``."""

    file: str
    line: int
    question_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.question_id}: {self.message}"


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class _Parsed:
    data: Any
    lines: dict[Loc, int]
    problems: list[Problem]


def _compose(text: str, source: str) -> _Parsed:
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        constructor = yaml.SafeLoader("")
        data = _build(node, (), lines, problems, source, constructor) if node else None
    except yaml.YAMLError as exc:
        # Syntax errors come from composing; unsafe or unknown tags (!!python/...) from
        # constructing: both are reported, never executed.
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return _Parsed(None, {}, [Problem(source, line, "-", f"YAML syntax error: {reason}")])
    return _Parsed(data, lines, problems)


def _build(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    problems: list[Problem],
    source: str,
    constructor: yaml.SafeLoader,
) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
        # Collections are built here, not by PyYAML, so refuse what SafeLoader would refuse.
        problem = f"could not determine a constructor for the tag '{node.tag}'"
        raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) or key is None:
                key = str(key)
            if key in result:
                line = key_node.start_mark.line + 1
                problems.append(Problem(source, line, "-", f"key '{key}' appears twice"))
            result[key] = _build(value_node, (*loc, key), lines, problems, source, constructor)
            # A key's own line is the best place to report an unknown or misplaced key.
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(child, (*loc, i), lines, problems, source, constructor)
            for i, child in enumerate(node.value)
        ]
    return constructor.construct_object(node, deep=True)


def _line_for(loc: Loc, lines: Mapping[Loc, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _question_at(loc: Loc, data: Any) -> str:
    """The id of the question a path points into, or '-' outside questions."""
    if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "questions":
        try:
            qid = data["sections"][loc[1]]["questions"][loc[3]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            qid = None
        return qid if isinstance(qid, str) else f"question {int(loc[3]) + 1}"
    return "-"


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    # Inside a question the problem line names the question: show the key path within it.
    if len(loc) > 4 and loc[0] == "sections" and loc[2] == "questions":
        loc = loc[4:]
    kind = error["type"]
    where = ".".join(str(part) for part in loc)
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        return f"unknown key '{last}'"
    if kind == "missing" and last in LANGUAGE_NAMES:
        parent = ".".join(str(part) for part in loc[:-1])
        return f"missing {LANGUAGE_NAMES[str(last)]} translation ('{last}') of {parent}"
    if kind == "missing":
        return f"missing key '{where}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        return message
    value = error.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{where}: {message} (got {shown})"


def _validate(parsed: _Parsed, source: str) -> tuple[Instrument | None, list[Problem]]:
    problems = list(parsed.problems)
    if problems and parsed.data is None:
        return None, problems
    if not isinstance(parsed.data, dict):
        return None, [*problems, Problem(source, 1, "-", "an instrument file must be a mapping")]
    try:
        instrument = Instrument.model_validate(parsed.data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            # A union or model error's loc may end at the model: point at the key if known.
            line = _line_for(loc, parsed.lines)
            problems.append(Problem(source, line, _question_at(loc, parsed.data), _describe(error)))
        return None, _sorted(problems)
    problems += [_from_finding(f, source, parsed.lines) for f in instrument_findings(instrument)]
    return (None if problems else instrument), _sorted(problems)


def _from_finding(finding: Finding, source: str, lines: Mapping[Loc, int]) -> Problem:
    return Problem(source, _line_for(finding.path, lines), finding.question_id, finding.message)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file, p.line))


def parse_instrument(text: str, source: str = "<text>") -> tuple[Instrument | None, list[Problem]]:
    """Parse YAML text: the instrument (None when invalid) and every problem found."""
    return _validate(_compose(text, source), source)


def load_instrument(path: str | Path) -> Instrument:
    """Load and check one instrument file; raise ``InstrumentError`` naming file and line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InstrumentError([Problem(str(file), 1, "-", f"cannot read file: {reason}")]) from None
    instrument, problems = parse_instrument(text, str(file))
    if instrument is None:
        raise InstrumentError(problems)
    return instrument


def instrument_from_definition(definition: Mapping[str, Any]) -> Instrument:
    """Rebuild an instrument from its stored definition JSON (as saved with a version)."""
    source = "<definition>"
    parsed = _Parsed(dict(definition), {}, [])
    instrument, problems = _validate(parsed, source)
    if instrument is None:
        raise InstrumentError(problems)
    return instrument
